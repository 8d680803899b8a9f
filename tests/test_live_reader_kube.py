"""The live reader against a real kube-apiserver (tests/servers/kubeapi.py): what it reads,
what it keeps, what a refusal looks like. The fake API server of tests/test_live_reader.py
stays for what a real server cannot be made to do (hang, answer garbage, fail with 500,
serve an older version only) and for the exact requests the reader sends."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from edgedoctor.kinds import KINDS
from edgedoctor.kube import reads
from edgedoctor.kube.live import read_live
from tests.servers.kubeapi import KubeCluster
from tests.test_live_reader import (
    FAKE_KEY_PEM,
    PLANTED,
    b64,
    by_kind,
    names,
    sample_objects,
    solver_and_listener_secrets,
)

EDGE_KINDS = {k.kind for k in KINDS}


ISSUER = {"name": "letsencrypt", "kind": "ClusterIssuer", "group": "cert-manager.io"}


def accepted(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fake server's sample, completed with the fields the real CRDs and kinds require
    (the fake does not validate them)."""
    for o in objs:
        o["metadata"].pop("managedFields", None)  # the server writes its own
        spec = o.setdefault("spec", {}) if o["kind"] not in ("Namespace", "Secret", "ConfigMap") else {}
        if o["kind"] in ("Certificate", "Order", "Challenge"):
            spec.setdefault("issuerRef", dict(ISSUER))
        if o["kind"] == "ClusterIssuer":
            spec.setdefault("acme", {}).setdefault("privateKeySecretRef", {"name": "le-account"})
        if o["kind"] == "Order":
            spec.setdefault("request", base64.b64encode(b"-----BEGIN CERTIFICATE REQUEST-----").decode())
        if o["kind"] == "Challenge":
            for key in ("authorizationURL", "url", "token", "key"):
                spec.setdefault(key, "x")
            spec.setdefault("solver", {"dns01": {"cloudflare": {}}})
        if o["kind"] == "Deployment":
            labels = {"app": o["metadata"]["name"]}
            spec.setdefault("selector", {"matchLabels": labels})
            spec["template"].setdefault("metadata", {}).setdefault("labels", labels)
    return objs


def _loaded(cluster: KubeCluster, extra: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    cluster.reset()
    objs = accepted(sample_objects() + (extra or []))
    cluster.load(objs)
    return objs


def _read(cluster: KubeCluster, user: str = "reader", **kwargs: Any):
    kwargs.setdefault("timeout", 15.0)
    return read_live(kubeconfig=str(cluster.kubeconfig(user)), **kwargs)


def test_reads_every_kind_as_the_reader(kube_cluster: KubeCluster) -> None:
    objs = _loaded(kube_cluster)
    ev = _read(kube_cluster, secret_names=solver_and_listener_secrets)
    assert ev.reachable and ev.errors == [], ev.errors
    assert set(ev.kinds_read) == EDGE_KINDS
    for kind in ("GatewayClass", "Gateway", "HTTPRoute", "Certificate", "ClusterIssuer", "Order", "Challenge"):
        want = {f"{o['metadata'].get('namespace', '')}/{o['metadata']['name']}" for o in objs if o["kind"] == kind}
        assert names(ev, kind) == want, kind
    assert names(ev, "Secret") == {"envoy-gateway/wildcard-tls", "cert-manager/cloudflare-api-token"}
    assert names(ev, "ConfigMap") == {"dns/k8s-gateway"}
    for obj in ev.objects:
        assert obj["apiVersion"] and obj["kind"] in EDGE_KINDS, obj
        assert "managedFields" not in obj["metadata"]


def test_nothing_secret_survives_the_real_server(kube_cluster: KubeCluster) -> None:
    _loaded(kube_cluster)
    ev = _read(kube_cluster, secret_names=solver_and_listener_secrets)
    dumped = json.dumps(ev.to_dict())
    for value in PLANTED:
        assert value not in dumped and b64(value) not in dumped
    assert b64(FAKE_KEY_PEM) not in dumped and "PRIVATE KEY" not in dumped
    secrets = {o["metadata"]["name"]: o for o in by_kind(ev, "Secret")}
    tls = secrets["wildcard-tls"]
    assert tls["redacted"] is True and tls["keys"] == ["tls.crt", "tls.key"] and set(tls["data"]) == {"tls.crt"}
    assert "BEGIN CERTIFICATE" in base64.b64decode(tls["data"]["tls.crt"]).decode()
    assert secrets["cloudflare-api-token"]["data"] == {}


def test_pages_are_followed_on_the_real_server(kube_cluster: KubeCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = [{"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
              "metadata": {"name": f"extra-{i}", "namespace": "app"},
              "spec": {"secretName": f"extra-{i}-tls", "dnsNames": [f"extra{i}.example.com"],
                       "issuerRef": {"name": "le", "kind": "ClusterIssuer"}}} for i in range(5)]
    objs = _loaded(kube_cluster, extra)
    monkeypatch.setattr(reads, "PAGE_SIZE", 2)
    ev = _read(kube_cluster)
    assert len(by_kind(ev, "Certificate")) == len([o for o in objs if o["kind"] == "Certificate"]) > 2


def test_a_kind_the_user_may_not_list_is_unknown_with_the_servers_words(kube_cluster: KubeCluster) -> None:
    _loaded(kube_cluster)
    ev = _read(kube_cluster, user="view")
    (err,) = [e for e in ev.errors if e["kind"] == "Order"]
    assert err["status"] == "unknown" and err["http_status"] == 403 and err["verb"] == "list"
    assert err["reason"].startswith("forbidden: cannot list orders (")
    assert 'cannot list resource "orders" in API group "acme.cert-manager.io"' in err["reason"]
    assert "Order" not in ev.kinds_read
    # The built-in view role reads the core kinds: those are read, not refused.
    assert {"Service", "Deployment", "Namespace"} <= set(ev.kinds_read)
