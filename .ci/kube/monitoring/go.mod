// The Prometheus Operator's CRDs (ServiceMonitor, PrometheusRule) for the test that applies
// deploy/exporter.yaml to the test API server; go.sum holds the module's hash. Nothing is
// built from this module: tests/servers/monitoring.py only runs `go mod download` on it.
// A module of its own, so that its pin does not change the control plane's build key.
module edgedoctor.test/kube/monitoring

go 1.24.0

require github.com/prometheus-operator/prometheus-operator v0.85.0
