"""`edgedoctor lint` from manifests alone: each seed incident as a small tree with a healthy twin.

A tree is `tests/lint_trees/platform/` (one healthy edge: Flux/Argo-deployed controllers,
issuers, a Gateway, a wildcard Certificate, an app) with the incident's files laid over it:
a file of the same name replaces the platform's, others are added.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgedoctor.lint.load import load_manifests
from edgedoctor.lint.run import exit_status, lint_manifests

TREES = Path(__file__).resolve().parent / "lint_trees"
PLATFORM = TREES / "platform"


def tree(incident: str, variant: str) -> list[str]:
    over = TREES / incident / variant
    names = {p.name for p in over.iterdir()}
    return [str(p) for p in sorted(PLATFORM.iterdir()) if p.name not in names] + [str(over)]


# incident -> (host, root cause, verdict, file the finding names, object it names)
SEEDS = {
    "route-not-accepted-sectionname": ("shop.example.com", "route-not-accepted", "critical", "platform/app.yaml", "HTTPRoute shop/shop"),
    "cert-secret-name-mismatch": ("shop.example.com", "cert-secret-name-mismatch", "critical", "platform/gateway.yaml", "Gateway envoy-gateway-system/edge"),
    "route-not-accepted-namespace-selector": ("shop.example.com", "route-not-accepted", "critical", "platform/app.yaml", "HTTPRoute shop/shop"),
    "external-dns-ingress-only": ("shop.example.com", "dns-no-record", "critical", "broken/external-dns.yaml", "Application argocd/external-dns"),
    "k8s-gateway-no-httproute": ("shop.example.com", "dns-internal-split-horizon", "critical", "broken/k8s-gateway.yaml", "HelmRelease kube-system/k8s-gateway"),
    "proxy-protocol-envoy-only": ("shop.example.com", "proxy-protocol-mismatch", "critical", "broken/proxy.yaml", "ClientTrafficPolicy envoy-gateway-system/proxy-protocol"),
    "proxy-protocol-lb-only": ("shop.example.com", "proxy-protocol-mismatch", "critical", "broken/gateway.yaml", "Gateway envoy-gateway-system/edge"),
    "cert-staging-in-production": ("shop.example.com", "cert-staging-issuer", "warning", "broken/certificate.yaml", "Certificate envoy-gateway-system/wildcard-example-com"),
    "cert-refgrant-missing": ("shop.example.com", "cert-refgrant-missing", "critical", "broken/gateway.yaml", "Gateway envoy-gateway-system/edge"),
    "route-backend-service-renamed": ("shop.example.com", "route-backend-unresolved", "critical", "broken/app.yaml", "HTTPRoute shop/shop"),
    "landing-page-instead-of-app": ("shop.example.com", "route-shadowed-by-wildcard", "critical", "broken/app.yaml", "HTTPRoute shop/shop"),
    "listener-no-match-new-domain": ("shop.example.org", "listener-no-match", "critical", "broken/app.yaml", "HTTPRoute shop/shop"),
    "cert-san-two-labels": ("shop.eu.example.com", "cert-san-mismatch", "critical", "platform/certificate.yaml", "Certificate envoy-gateway-system/wildcard-example-com"),
    "route-conflict-canary": ("shop.example.com", "route-conflict", "warning", "broken/canary.yaml", "HTTPRoute shop/shop-canary"),
    "http-not-redirecting": ("shop.example.com", "redirect-missing", "warning", "platform/gateway.yaml", "Gateway envoy-gateway-system/edge"),
    "gatewayclass-no-controller": ("shop.example.com", "gatewayclass-not-accepted", "critical", "platform/gatewayclass.yaml", "GatewayClass eg"),
    "cert-manager-7003-cleanup": ("shop.example.com", "cert-cloudflare-7003-cleanup", "critical", "broken/cert-manager.yaml", "HelmRelease cert-manager/cert-manager"),
    "cert-manager-v1160-clusterissuer-secret": ("shop.example.com", "cert-manager-v1160-issuer-namespace", "critical", "broken/cert-manager.yaml", "HelmRelease cert-manager/cert-manager"),
    "cert-solver-dnszones-subzone": ("shop.example.com", "cert-solver-no-match", "critical", "platform/certificate.yaml", "Certificate envoy-gateway-system/wildcard-example-com"),
    "cert-issuer-missing": ("shop.example.com", "cert-issuer-not-ready", "critical", "broken/certificate.yaml", "Certificate envoy-gateway-system/wildcard-example-com"),
    "route-missing-new-listener": ("api.example.com", "route-missing", "critical", "broken/gateway.yaml", "Gateway envoy-gateway-system/edge"),
}


def by_host(results):
    return {r.host: r for r in results}


def test_platform_alone_is_healthy():
    results = lint_manifests(load_manifests([str(PLATFORM)]))
    assert [(r.host, r.verdict, r.findings) for r in results] == [("shop.example.com", "ok", [])]
    assert exit_status(results) == 0


@pytest.mark.parametrize("incident", sorted(SEEDS))
def test_seed_incident_is_caught_from_manifests(incident):
    host, code, verdict, file_tail, obj = SEEDS[incident]
    results = by_host(lint_manifests(load_manifests(tree(incident, "broken"))))
    r = results[host]
    assert (r.verdict, r.root_code) == (verdict, code), [f.to_dict() for f in r.findings]
    f = next(f for f in r.findings if f.code == code)
    assert f.object == obj
    assert f.location is not None and f.location.file.endswith(file_tail), f.location
    # The line is where the object starts in that file.
    lines = Path(f.location.file).read_text().splitlines()
    kind = obj.split()[0]
    start = f.location.line - 1
    assert any(lines[i].strip() == f"kind: {kind}" for i in range(start, min(start + 3, len(lines)))), (f.location, lines[start:start + 3])
    assert exit_status(list(results.values())) == {"critical": 2, "warning": 1}[verdict]


@pytest.mark.parametrize("incident", sorted(SEEDS))
def test_healthy_twin_is_clean(incident):
    host, code, _verdict, _file, _obj = SEEDS[incident]
    results = by_host(lint_manifests(load_manifests(tree(incident, "healthy"))))
    r = results[host]
    assert (r.verdict, [f.code for f in r.findings]) == ("ok", [])
    assert all(x.verdict == "ok" for x in results.values()), {h: x.root_code for h, x in results.items()}


# ---------------------------------------------------------------- a listener Secret held as data

def _secret_tree(tmp_path: Path, *, key: str | None, secret_type: str = "kubernetes.io/tls") -> tuple[list[str], str]:
    """The platform with its Certificate replaced by a hand-made Secret of the same name
    (a fresh certificate; KEY: None for its own key, else that text). Returns the tree and
    the key placed (generated per run, never stored)."""
    import base64
    import datetime as dt

    import yaml

    from tests.servers.pki import TestCA

    leaf = TestCA(now=dt.datetime.now(dt.timezone.utc)).leaf(["*.example.com", "example.com"])
    placed = leaf.key_pem if key is None else key
    secret = {"apiVersion": "v1", "kind": "Secret", "type": secret_type,
              "metadata": {"name": "wildcard-example-com-tls", "namespace": "envoy-gateway-system"},
              "data": {"tls.crt": base64.b64encode(leaf.fullchain_pem.encode()).decode(),
                       "tls.key": base64.b64encode(placed.encode()).decode()}}
    (tmp_path / "secret.yaml").write_text(yaml.safe_dump(secret))
    return [str(p) for p in sorted(PLATFORM.iterdir()) if p.name != "certificate.yaml"] + [str(tmp_path / "secret.yaml")], placed


def _other_key() -> str:
    from tests.servers.pki import key_pem, new_key

    return key_pem(new_key())


@pytest.mark.parametrize(("case", "says"), [
    ("empty-key", "must contain tls.crt and tls.key."),
    ("other-key", "must contain a matching tls.crt and tls.key."),
    ("opaque", "must be of type kubernetes.io/tls."),
])
def test_a_hand_made_secret_the_controller_would_refuse_is_invalid_not_missing(tmp_path, case, says):
    """Envoy Gateway refuses such a Secret (InvalidCertificateRef, in these words); lint
    predicts it from the manifest's data, and the key is never shown."""
    key = {"empty-key": "", "other-key": _other_key(), "opaque": None}[case]
    files, placed = _secret_tree(tmp_path, key=key, secret_type="Opaque" if case == "opaque" else "kubernetes.io/tls")
    r = by_host(lint_manifests(load_manifests(files)))["shop.example.com"]
    assert (r.verdict, r.root_code) == ("critical", "cert-secret-invalid"), [f.to_dict() for f in r.findings]
    f = next(f for f in r.findings if f.code == "cert-secret-invalid")
    assert f"Secret envoy-gateway-system/wildcard-example-com-tls {says}" in f.message, f.message
    assert "cert-secret-missing" not in [x.code for x in r.findings]
    text = json.dumps([x.to_dict() for x in r.findings])
    body = [ln for ln in placed.splitlines() if ln and not ln.startswith("-----")]
    assert not any(b in text for b in body) and "PRIVATE KEY" not in text


def test_a_hand_made_secret_with_its_own_key_is_healthy(tmp_path):
    files, _ = _secret_tree(tmp_path, key=None)
    r = by_host(lint_manifests(load_manifests(files)))["shop.example.com"]
    assert (r.verdict, [f.code for f in r.findings]) == ("ok", [])
