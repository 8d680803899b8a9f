#!/usr/bin/env python3
"""Fetch the pinned CRD modules through the Go module proxy and write their CRDs to a cache.

Usage (from .ci/kube/crds, whose go.mod/go.sum pin the versions):
    crds.py GO OUTDIR

OUTDIR gets one multi-document YAML per set, each holding only CustomResourceDefinitions:
  gateway-api-standard.yaml, gateway-api-experimental.yaml   sigs.k8s.io/gateway-api config/crd/<channel>
  cert-manager.yaml                                          cert-manager deploy/crds
  envoy-gateway.yaml                                         Envoy Gateway's generated CRDs
cert-manager's deploy/crds carried Helm template lines in its labels in some releases
(`{{- include "cert-manager.crd-labels" . | nindent 4 }}`); they are not YAML, so any line
holding a template action is dropped, and a set that still has one is an error.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

SETS: dict[str, tuple[str, str]] = {
    "gateway-api-standard": ("sigs.k8s.io/gateway-api", "config/crd/standard"),
    "gateway-api-experimental": ("sigs.k8s.io/gateway-api", "config/crd/experimental"),
    "cert-manager": ("github.com/cert-manager/cert-manager", "deploy/crds"),
    "envoy-gateway": ("github.com/envoyproxy/gateway", "charts/gateway-helm/charts/crds/crds/generated"),
}
TEMPLATE = re.compile(r"\{\{.*?\}\}")


def download(go: str, modules: list[str]) -> dict[str, dict[str, str]]:
    """`go mod download` checks each zip against go.sum; returns path -> {Dir, Version}."""
    env = {**os.environ, "GOFLAGS": "-mod=readonly", "GOTOOLCHAIN": "local"}
    out = subprocess.run([go, "mod", "download", "-json", *modules],
                         check=True, capture_output=True, text=True, env=env)
    found: dict[str, dict[str, str]] = {}
    for doc in _docs(out.stdout):
        if doc.get("Error"):
            raise SystemExit(f"go mod download {doc['Path']}: {doc['Error']}")
        found[doc["Path"]] = doc
    return found


def _docs(text: str) -> list[dict[str, str]]:
    decoder = json.JSONDecoder()
    docs, i = [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        doc, i = decoder.raw_decode(text, i)
        docs.append(doc)
    return docs


def crds_of(directory: Path) -> list[dict]:
    crds = []
    for path in sorted(directory.glob("*.yaml")):
        text = "\n".join(line for line in path.read_text().splitlines() if not TEMPLATE.search(line))
        for doc in yaml.safe_load_all(text):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                labels = doc.get("metadata", {}).get("labels")
                if labels is None and "labels" in doc.get("metadata", {}):
                    del doc["metadata"]["labels"]  # the key whose only value was a template
                crds.append(doc)
    if not crds:
        raise SystemExit(f"no CustomResourceDefinition in {directory}")
    return crds


def main() -> None:
    go, outdir = sys.argv[1], Path(sys.argv[2])
    modules = sorted({module for module, _ in SETS.values()})
    found = download(go, modules)
    outdir.mkdir(parents=True, exist_ok=True)
    for name, (module, subdir) in SETS.items():
        crds = crds_of(Path(found[module]["Dir"]) / subdir)
        dumped = yaml.safe_dump_all(crds, sort_keys=False)
        if TEMPLATE.search(dumped):
            raise SystemExit(f"{name}: a Helm template action is left in the CRDs")
        (outdir / f"{name}.yaml").write_text(
            f"# {module} {found[module]['Version']} {subdir}\n" + dumped)
        print(f"CRDs: {name}: {len(crds)} from {module} {found[module]['Version']}")


if __name__ == "__main__":
    main()
