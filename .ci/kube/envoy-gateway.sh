#!/usr/bin/env bash
# Build the Envoy Gateway controller the tests run (tests/servers/envoygateway.py) from the Go
# module proxy into the same cache as the control plane, in its own directory: its key is
# this script alone, so changing it never rebuilds kube-apiserver (about 9 minutes cold).
# A second run with the same pin only checks the cache.
#
#   EDGEDOCTOR_KUBE_CACHE  cache directory (default ~/.cache/edgedoctor-kube)
set -euo pipefail
ENVOY_GATEWAY_VERSION="v1.9.1"
cache="${EDGEDOCTOR_KUBE_CACHE:-$HOME/.cache/edgedoctor-kube}"

# CI's non-interactive shell often lacks the toolchain on PATH; /usr/local/go is where the
# official Go tarball installs.
go_bin="$(command -v go || true)"
if [ -z "$go_bin" ] && [ -x /usr/local/go/bin/go ]; then go_bin=/usr/local/go/bin/go; fi
if [ -z "$go_bin" ]; then
  echo "Go toolchain not found (not on PATH, not in /usr/local/go/bin): install Go >= 1.26.7 (Envoy Gateway $ENVOY_GATEWAY_VERSION's go line)" >&2
  exit 1
fi
export GOTOOLCHAIN=local

key="$(sha256sum "$0" | cut -c1-16)"
out="$cache/envoy-gateway-$ENVOY_GATEWAY_VERSION-$key"
if [ -f "$out/.complete" ]; then
  echo "envoy-gateway $ENVOY_GATEWAY_VERSION: cached in $out"
else
  mkdir -p "$out/bin"
  # `go install mod@version` checks the module against the checksum database. v1.9.1's
  # go.mod has no replace directive (v1.5.0's has, and would need a wrapper module) and its
  # go line (1.26.7) fits the toolchain.
  start=$SECONDS
  GOBIN="$out/bin" GOFLAGS=-trimpath "$go_bin" install -ldflags "-s -w" \
    "github.com/envoyproxy/gateway/cmd/envoy-gateway@$ENVOY_GATEWAY_VERSION"
  echo "envoy-gateway $ENVOY_GATEWAY_VERSION: built in $((SECONDS - start)) s"
  touch "$out/.complete"
fi
echo "disk: envoy-gateway $(du -sh "$out" | cut -f1) ($out)"
