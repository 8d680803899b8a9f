"""The Prometheus Operator's CRDs (ServiceMonitor, PrometheusRule), pinned in
.ci/kube/monitoring (go.mod/go.sum) and fetched through the Go module proxy by
`go mod download`, which checks the module against go.sum. Go's module cache keeps it.

Missing Go skips the tests that need them locally and fails them in CI, as for the
control plane itself (tests/servers/kubeapi.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.servers.kubeapi import _missing

ROOT = Path(__file__).resolve().parents[2]
PIN = ROOT / ".ci" / "kube" / "monitoring"
MODULE = "github.com/prometheus-operator/prometheus-operator"
CRD_DIR = "example/prometheus-operator-crd"


def _go() -> str | None:
    found = shutil.which("go")
    if found:
        return found
    return "/usr/local/go/bin/go" if os.access("/usr/local/go/bin/go", os.X_OK) else None


def monitoring_crds(*plurals: str) -> list[dict]:
    """The CRDs monitoring.coreos.com_<plural>.yaml of the pinned release."""
    go = _go()
    if go is None:
        _missing("Go is needed to fetch the Prometheus Operator CRDs (.ci/kube/build.sh installs it)")
    env = {**os.environ, "GOFLAGS": "-mod=readonly", "GOTOOLCHAIN": "local"}
    p = subprocess.run([go, "mod", "download", "-json", MODULE], cwd=PIN, capture_output=True, text=True,
                       env=env, timeout=600)
    info = json.loads(p.stdout) if p.stdout.strip() else {}
    if p.returncode != 0 or info.get("Error") or not info.get("Dir"):
        _missing(f"go mod download {MODULE}: {info.get('Error') or p.stderr.strip()[-300:]}")
    out = []
    for plural in plurals:
        path = Path(info["Dir"]) / CRD_DIR / f"monitoring.coreos.com_{plural}.yaml"
        out += [d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") == "CustomResourceDefinition"]
    return out
