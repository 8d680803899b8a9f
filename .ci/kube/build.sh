#!/usr/bin/env bash
# Build what the tests run against from the Go module proxy, into a cache directory outside
# the checkout (${EDGEDOCTOR_KUBE_CACHE:-~/.cache/edgedoctor-kube}):
#   envoy-gateway.sh   the Envoy Gateway controller, in its own directory
#   control-plane.sh   kube-apiserver, kube-controller-manager, external-dns and the CRDs
# Each script keys its directory on its own pins; control-plane.sh's key covers that script
# itself, so it is kept apart from this one: adding to the build here never invalidates
# the control plane's cache.
# Prints the control plane's cache location on its last line: KUBE_BIN_DIR=<dir>.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bash "$here/envoy-gateway.sh"
bash "$here/control-plane.sh"
