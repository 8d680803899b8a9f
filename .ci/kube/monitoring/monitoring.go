// Package monitoring is empty: the module exists only to pin the CRD source with go.sum.
package monitoring
