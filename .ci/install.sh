#!/usr/bin/env bash
# Install what the test suite needs on a fresh Debian machine (as root, no terminal).
# Idempotent: run it again and it only re-checks.
#
#   bind9 bind9-utils bind9-dnsutils  authoritative DNS (named) and dig for the DNS probe tests
#   nginx-light                       TLS/HTTP endpoints serving test certificates
#   pebble                            Let's Encrypt's ACME test CA (DNS-01 against our named)
#   ca-certificates                   the system trust store the TLS verification reads
#   tmux                              the TUI smoke test in a real terminal
#   faketime                          the recordings build runs each scenario at its own time
#   etcd-server                       the store of the tests' real kube-apiserver
#   util-linux mount                  nsenter, unshare and mount: the Envoy Gateway controller
#                                     runs in network and mount namespaces of its own
#   python3 python3-venv              a stock Debian has `python3` only, and its Python is
#                                     externally managed (PEP 668): the package and the test
#                                     extras go into a virtual environment, .venv
#
# Then .ci/kube/build.sh builds kube-apiserver and kube-controller-manager (v1.34.4),
# external-dns (v0.18.0) and the Envoy Gateway controller (v1.9.1) from the Go module proxy
# and fetches the pinned CRDs into ~/.cache/edgedoctor-kube; a warm cache makes it a check
# of a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
PACKAGES=(bind9 bind9-utils bind9-dnsutils nginx-light pebble ca-certificates tmux faketime etcd-server
          util-linux mount python3 python3-venv)

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh must run as root (it installs Debian packages)" >&2
  exit 1
fi

# The tests start their own named and nginx on loopback; the packages' services must not
# start (they would take ports 53 and 80). policy-rc.d tells invoke-rc.d to leave them off.
created_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  created_policy=1
fi
cleanup() { if [ -n "$created_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

apt-get update -q
apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"

for bin in /usr/sbin/named /usr/sbin/nginx /usr/bin/pebble /usr/bin/dig /usr/bin/etcd /usr/bin/nsenter /usr/bin/unshare /usr/bin/mount; do
  if [ ! -x "$bin" ]; then
    echo "missing after install: $bin" >&2
    exit 1
  fi
done

# The virtual environment already active, or .venv (made once, then reused).
if [ -z "${VIRTUAL_ENV:-}" ]; then
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
python -m pip install -q -e '.[test]'

# After pip: crds.py needs PyYAML.
bash .ci/kube/build.sh
