// Package crds is empty: the module exists only to pin the CRD sources with go.sum.
package crds
