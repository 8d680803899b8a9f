// The modules whose CRDs the test API server installs, pinned; go.sum holds their hashes.
// Nothing is built from this module: build.sh only runs `go mod download` on it.
module edgedoctor.test/kube/crds

go 1.24.0

require (
	github.com/cert-manager/cert-manager v1.21.1
	github.com/envoyproxy/gateway v1.9.1
	sigs.k8s.io/gateway-api v1.6.1
)
