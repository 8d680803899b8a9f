"""What a HelmRelease or an Argo CD Application deploys, read from its values; and the
Gateway API rules lint predicts beyond the seed incidents (listener conflicts, backend
ReferenceGrants)."""

from __future__ import annotations

from pathlib import Path

import yaml

from edgedoctor.diagnosis.controllers import find_controllers
from edgedoctor.diagnosis.dnssync import parse_corefile
from edgedoctor.diagnosis.index import ClusterIndex
from edgedoctor.evidence import ClusterEvidence
from edgedoctor.lint.gitops import synthesize
from edgedoctor.lint.load import load_manifests
from edgedoctor.lint.run import lint_manifests

PLATFORM = Path(__file__).resolve().parent / "lint_trees" / "platform"


def _controllers(doc: str):
    objs = [o for d in yaml.safe_load_all(doc) for o in synthesize(d)]
    return objs, find_controllers(ClusterIndex(ClusterEvidence(objects=objs)))


def test_flux_helmrelease_versions_and_image_override():
    _, cs = _controllers("""
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: cm, namespace: flux-system}
spec:
  targetNamespace: cert-manager
  chart: {spec: {chart: cert-manager, version: "1.16.0"}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: eg, namespace: envoy-gateway-system}
spec:
  chart: {spec: {chart: gateway-helm, version: v1.5.4}}
  values: {image: {tag: v1.6.0}}
""")
    (cm,) = cs["cert-manager"]
    assert (cm.version, cm.namespace, cm.name) == ((1, 16, 0), "cert-manager", "cm")
    (eg,) = cs["envoy-gateway"]
    assert eg.version == (1, 6, 0)


def test_argo_application_values_text_object_and_parameters():
    _, cs = _controllers("""
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: external-dns, namespace: argocd}
spec:
  destination: {namespace: dns}
  source:
    chart: external-dns
    targetRevision: 1.19.0
    helm:
      values: |
        sources: [ingress]
        txtOwnerId: blue
      valuesObject:
        domainFilters: [example.com]
      parameters:
      - name: sources[1]
        value: gateway-httproute
      - name: extraArgs[0]
        value: --annotation-filter=team=shop
""")
    (ed,) = cs["external-dns"]
    assert ed.namespace == "dns"
    assert ed.flag_values("--source") == ["ingress", "gateway-httproute"]
    assert ed.flag("--txt-owner-id") == "blue" and ed.flag("--domain-filter") == "example.com"
    assert ed.flag("--annotation-filter") == "team=shop"


def test_external_dns_chart_default_sources_lack_httproute():
    _, cs = _controllers("""
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: external-dns, namespace: dns}
spec: {chart: {spec: {chart: external-dns}}}
""")
    assert cs["external-dns"][0].flag_values("--source") == ["service", "ingress"]


def test_k8s_gateway_watched_resources_by_chart():
    objs, cs = _controllers("""
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: fork, namespace: a}
spec:
  chart: {spec: {chart: k8s-gateway}}
  values: {domain: example.com}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: ori, namespace: b}
spec:
  chart: {spec: {chart: k8s-gateway}}
  values: {domain: example.com, image: {registry: quay.io, repository: oriedge/k8s_gateway, tag: v0.4.0}}
""")
    corefiles = {o["metadata"]["namespace"]: parse_corefile(o["data"]["Corefile"]) for o in objs if o["kind"] == "ConfigMap"}
    # The maintained fork's chart default is Ingress and Service; ori-edge's empty list means all.
    assert corefiles["a"] == [{"zones": ["example.com"], "resources": ["Ingress", "Service"]}]
    assert corefiles["b"] == [{"zones": ["example.com"], "resources": None}]
    assert {c.namespace for c in cs["k8s-gateway"]} == {"a", "b"}


def test_unrelated_charts_render_nothing():
    assert synthesize({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                       "metadata": {"name": "x", "namespace": "y"}, "spec": {"chart": {"spec": {"chart": "podinfo"}}}}) == []


def _lint(tmp_path, extra: str, replace: dict[str, str] | None = None):
    paths = []
    for p in sorted(PLATFORM.iterdir()):
        text = p.read_text()
        for a, b in (replace or {}).items():
            text = text.replace(a, b)
        (tmp_path / p.name).write_text(text)
        paths.append(str(tmp_path / p.name))
    (tmp_path / "extra.yaml").write_text(extra)
    return {r.host: r for r in lint_manifests(load_manifests([str(tmp_path)]))}


def test_listener_hostname_conflict_is_not_programmed(tmp_path):
    # A second HTTPS listener on 443 with the same hostname: both conflicted, neither programmed.
    hosts = _lint(tmp_path, "", {"  - name: https\n": """  - name: https-dup
    protocol: HTTPS
    port: 443
    hostname: "*.example.com"
    tls:
      certificateRefs:
      - name: wildcard-example-com-tls
  - name: https
"""})
    r = hosts["shop.example.com"]
    assert r.verdict == "critical"
    f = next(f for f in r.findings if f.code == "gateway-not-programmed")
    assert "HostnameConflict" in f.message and f.object == "Gateway envoy-gateway-system/edge"


def test_cross_namespace_backend_needs_a_reference_grant(tmp_path):
    svc = "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: backend}\nspec:\n  ports: [{port: 80}]\n"
    grant = ("---\napiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\n"
             "metadata: {name: shop-to-api, namespace: backend}\nspec:\n"
             "  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: shop}]\n"
             "  to: [{group: '', kind: Service}]\n")
    swap = {"  - backendRefs:\n    - name: shop\n": "  - backendRefs:\n    - name: api\n      namespace: backend\n",
            "      port: 8080": "      port: 80"}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    broken = _lint(tmp_path / "a", svc, swap)["shop.example.com"]
    assert broken.root_code == "route-backend-unresolved" and "ReferenceGrant" in broken.findings[0].message
    ok = _lint(tmp_path / "b", svc + grant, swap)["shop.example.com"]
    assert (ok.verdict, ok.findings) == ("ok", [])
