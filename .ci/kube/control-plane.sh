#!/usr/bin/env bash
# Build the control plane the tests run (kube-apiserver, kube-controller-manager) and
# external-dns from the Go module proxy, and fetch the CRDs, into a cache directory outside
# the checkout.
# A second run with the same pins only checks the cache.
#
#   EDGEDOCTOR_KUBE_CACHE  cache directory (default ~/.cache/edgedoctor-kube)
#
# Prints the cache location on its last line: KUBE_BIN_DIR=<dir>.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
KUBE_VERSION="v1.34.4"
EXTERNAL_DNS_VERSION="v0.18.0"
cache="${EDGEDOCTOR_KUBE_CACHE:-$HOME/.cache/edgedoctor-kube}"

# CI's non-interactive shell often lacks the toolchain on PATH; /usr/local/go is where the
# official Go tarball installs.
go_bin="$(command -v go || true)"
if [ -z "$go_bin" ] && [ -x /usr/local/go/bin/go ]; then go_bin=/usr/local/go/bin/go; fi
if [ -z "$go_bin" ]; then
  echo "Go toolchain not found (not on PATH, not in /usr/local/go/bin): install Go >= $(sed -n 's/^go //p' "$here/go.mod")" >&2
  exit 1
fi
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly

# The cache key is every pin: the versions, go.mod/go.sum and this script.
key="$(cat "$here/go.mod" "$here/go.sum" "$here/crds/go.mod" "$here/crds/go.sum" "$0" "$here/crds.py" \
       | sha256sum | cut -c1-16)"
out="$cache/$KUBE_VERSION-$key"
if [ -f "$out/.complete" ]; then
  echo "kube control plane: cached in $out"
else
  mkdir -p "$out/bin"
  minor="$(echo "$KUBE_VERSION" | cut -d. -f2)"
  pkg=k8s.io/component-base/version
  ldflags="-s -w -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  start=$SECONDS
  ( cd "$here" && "$go_bin" build -trimpath -ldflags "$ldflags" -o "$out/bin/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager )
  echo "kube control plane: built in $((SECONDS - start)) s"
  # Real controllers that write what edgedoctor reads: external-dns (DNS records through
  # rfc2136 into the tests' bind9). `go install mod@version` checks the module against the
  # checksum database; v0.18.0 is the newest whose modules the proxy serves and whose go line
  # fits this toolchain.
  start=$SECONDS
  GOBIN="$out/bin" GOFLAGS=-trimpath "$go_bin" install -ldflags "-s -w" "sigs.k8s.io/external-dns@$EXTERNAL_DNS_VERSION"
  echo "external-dns $EXTERNAL_DNS_VERSION: built in $((SECONDS - start)) s"
  ( cd "$here/crds" && python3 "$here/crds.py" "$go_bin" "$out/crds" )
  touch "$out/.complete"
fi

modcache="$("$go_bin" env GOMODCACHE)"
buildcache="$("$go_bin" env GOCACHE)"
echo "disk: Go module cache $(du -sh "$modcache" 2>/dev/null | cut -f1) ($modcache)," \
     "Go build cache $(du -sh "$buildcache" 2>/dev/null | cut -f1) ($buildcache)," \
     "binaries and CRDs $(du -sh "$out" | cut -f1) ($out)"
echo "KUBE_BIN_DIR=$out"
