"""The live reader over real HTTP(S) against tests/fakeapi.py: the exact requests it sends
(which a real server does not report), the faults a real server cannot be made to show
(hangs, 500s, garbage, a missing CRD, an older served version only, a refused Secret with
everything else allowed) and the kubeconfig handling. What it reads and keeps from a real
kube-apiserver, and a real 403, are in tests/test_live_reader_kube.py."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edgedoctor.kube import config as kube_config
from edgedoctor.kube.live import LiveConfigError, read_live
from edgedoctor.kube.wanted import needed_secrets
from tests.fakeapi import ContextSpec, FakeAPI, dead_port, make_ca_and_cert, write_kubeconfig

# Fake values planted in the server; none may appear in what the reader returns.
PLANTED_KEY = "PLANTED-PRIVATE-KEY-MATERIAL-5b1e"
PLANTED_CF_TOKEN = "PLANTED-CLOUDFLARE-TOKEN-77c2"
PLANTED_ENV_TOKEN = "PLANTED-ENV-TOKEN-d41d"
PLANTED = (PLANTED_KEY, PLANTED_CF_TOKEN, PLANTED_ENV_TOKEN)

# Looks like a certificate to the redactor (which keeps CERTIFICATE blocks only).
FAKE_CERT_PEM = (
    "-----BEGIN CERTIFICATE-----\n"
    + base64.b64encode(b"not a real certificate, only its shape" * 2).decode()
    + "\n-----END CERTIFICATE-----\n"
)
# A planted fake, not a key; the PEM label is built so no file holds a key header.
_KEY_LABEL = "PRIVATE" + " KEY"
FAKE_KEY_PEM = (
    f"-----BEGIN {_KEY_LABEL}-----\n"
    + base64.b64encode(PLANTED_KEY.encode()).decode()
    + f"\n-----END {_KEY_LABEL}-----\n"
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def sample_objects() -> list[dict[str, Any]]:
    gw = "gateway.networking.k8s.io/v1"
    cm = "cert-manager.io/v1"
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
        for ns in ("envoy-gateway", "cert-manager", "app", "dns")
    ] + [
        {
            "apiVersion": gw,
            "kind": "GatewayClass",
            "metadata": {"name": "eg"},
            "spec": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"},
        },
        {
            "apiVersion": gw,
            "kind": "Gateway",
            "metadata": {
                "name": "edge",
                "namespace": "envoy-gateway",
                "managedFields": [{"manager": "kubectl", "operation": "Apply"}],
            },
            "spec": {
                "gatewayClassName": "eg",
                "listeners": [
                    {"name": "http", "port": 80, "protocol": "HTTP"},
                    {
                        "name": "https",
                        "port": 443,
                        "protocol": "HTTPS",
                        "hostname": "*.example.com",
                        "tls": {"certificateRefs": [{"kind": "Secret", "name": "wildcard-tls"}]},
                    },
                ],
            },
        },
        {
            "apiVersion": gw,
            "kind": "HTTPRoute",
            "metadata": {"name": "app", "namespace": "app"},
            "spec": {
                "parentRefs": [{"name": "edge", "namespace": "envoy-gateway"}],
                "hostnames": ["app.example.com"],
                "rules": [{"backendRefs": [{"name": "app", "port": 80}]}],
            },
        },
        {
            "apiVersion": cm,
            "kind": "Certificate",
            "metadata": {"name": "wildcard", "namespace": "envoy-gateway"},
            "spec": {
                "secretName": "wildcard-tls",
                "dnsNames": ["*.example.com"],
                "issuerRef": {"kind": "ClusterIssuer", "name": "letsencrypt"},
            },
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        },
        {
            "apiVersion": cm,
            "kind": "Certificate",
            "metadata": {"name": "api", "namespace": "app"},
            "spec": {"secretName": "api-tls", "dnsNames": ["api.example.com"]},
        },
        {
            "apiVersion": cm,
            "kind": "ClusterIssuer",
            "metadata": {"name": "letsencrypt"},
            "spec": {
                "acme": {
                    "server": "https://acme-v02.api.letsencrypt.org/directory",
                    "solvers": [
                        {
                            "dns01": {
                                "cloudflare": {
                                    "apiTokenSecretRef": {
                                        "name": "cloudflare-api-token",
                                        "key": "api-token",
                                    }
                                }
                            }
                        }
                    ],
                }
            },
        },
        {
            "apiVersion": "acme.cert-manager.io/v1",
            "kind": "Order",
            "metadata": {"name": "wildcard-1-123", "namespace": "envoy-gateway"},
            "spec": {"dnsNames": ["*.example.com"]},
        },
        {
            "apiVersion": "acme.cert-manager.io/v1",
            "kind": "Challenge",
            "metadata": {"name": "wildcard-1-123-456", "namespace": "envoy-gateway"},
            "spec": {"dnsName": "example.com", "type": "DNS-01"},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "wildcard-tls", "namespace": "envoy-gateway"},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": b64(FAKE_CERT_PEM), "tls.key": b64(FAKE_KEY_PEM)},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "cloudflare-api-token", "namespace": "cert-manager"},
            "type": "Opaque",
            "data": {"api-token": b64(PLANTED_CF_TOKEN)},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "unrelated", "namespace": "app"},
            "type": "Opaque",
            "data": {"password": b64("nobody-asked-for-this")},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "app", "namespace": "app"},
            "spec": {"ports": [{"port": 80}]},
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "app-abcde",
                "namespace": "app",
                "labels": {"kubernetes.io/service-name": "app"},
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.0.0.5"], "conditions": {"ready": True}}],
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "k8s-gateway", "namespace": "dns",
                         "labels": {"app.kubernetes.io/name": "k8s-gateway"}},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "k8s-gateway",
                                "image": "quay.io/oriedge/k8s_gateway:v0.4.0",
                                "env": [{"name": "CF_API_TOKEN", "value": PLANTED_ENV_TOKEN}],
                            }
                        ],
                        "volumes": [{"name": "config-volume", "configMap": {"name": "k8s-gateway"}}],
                    }
                }
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "app", "namespace": "app"},
            "spec": {
                "template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "k8s-gateway", "namespace": "dns"},
            "data": {"Corefile": ".:1053 {\n    k8s_gateway example.com\n}\n"},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "kube-root-ca.crt", "namespace": "dns"},
            "data": {"ca.crt": "x"},
        },
        {
            # A Corefile where no DNS server runs: not read.
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "stray-corefile", "namespace": "app"},
            "data": {"Corefile": ".:53 {}"},
        },
    ]


def solver_and_listener_secrets(objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """What a check of any host reads: listener and Certificate Secrets, issuer solver tokens."""
    return needed_secrets(None, objects)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # No user kubeconfig, no proxy, no in-cluster service account leaks into a test.
    for var in (
        "KUBECONFIG",
        "KUBERNETES_SERVICE_HOST",
        "KUBERNETES_SERVICE_PORT",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))


@pytest.fixture
def api():
    with FakeAPI(sample_objects()) as server:
        yield server


@pytest.fixture
def kubeconfig(api: FakeAPI, tmp_path: Path) -> Path:
    return api.kubeconfig(tmp_path / "kube" / "config")


def read(kubeconfig: Path, **kwargs: Any):
    kwargs.setdefault("timeout", 5.0)
    return read_live(kubeconfig=str(kubeconfig), **kwargs)


def by_kind(ev, kind: str) -> list[dict[str, Any]]:
    return [o for o in ev.objects if o["kind"] == kind]


def names(ev, kind: str) -> set[str]:
    return {
        f"{o['metadata'].get('namespace', '')}/{o['metadata']['name']}" for o in by_kind(ev, kind)
    }


# ---------------------------------------------------------------- a healthy read


def test_lists_cluster_wide_and_never_lists_secrets(api: FakeAPI, kubeconfig: Path) -> None:
    read(kubeconfig)
    gets = [r["path"] for r in api.requests if r["method"] == "GET"]
    assert "/apis/cert-manager.io/v1/certificates" in gets
    assert "/api/v1/services" in gets
    assert "/apis/apps/v1/deployments" in gets
    secret_paths = [p for p in gets if "/secrets" in p]
    assert secret_paths, "the referenced Secrets were not read"
    assert all(p.count("/") == 6 for p in secret_paths), secret_paths  # by name only
    assert "/api/v1/secrets" not in gets
    assert "/api/v1/configmaps" not in gets
    assert {r["method"] for r in api.requests} == {"GET"}


def test_services_endpointslices_deployments_only_where_the_chain_points(tmp_path: Path) -> None:
    """Label-selected Deployments and Services, backends by name, their EndpointSlices by
    the service-name label: nothing of these kinds is listed unselected when every
    controller carries its chart's labels."""
    objs = sample_objects()
    for name, image, label in (("cert-manager", "quay.io/jetstack/cert-manager-controller:v1.19.1", "cert-manager"),
                               ("envoy-gateway", "docker.io/envoyproxy/gateway:v1.9.0", "gateway-helm")):
        objs.append({"apiVersion": "apps/v1", "kind": "Deployment",
                     "metadata": {"name": name, "namespace": name, "labels": {"app.kubernetes.io/name": label}},
                     "spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}}})
    with FakeAPI(objs) as server:
        ev = read(server.kubeconfig(tmp_path / "config"))
        requests = [r for r in server.requests if r["method"] == "GET"]
    assert not ev.errors
    for r in requests:
        path, query = r["path"], r["query"]
        if any(f"/{res}" in path for res in ("services", "deployments", "endpointslices", "configmaps")):
            named = path.rstrip("/").split("/")[-2] in ("services", "configmaps")
            assert named or query.get("labelSelector"), (path, query)
    assert "Deployment" in ev.kinds_read and "Service" in ev.kinds_read and "EndpointSlice" in ev.kinds_read
    assert names(ev, "Deployment") >= {"dns/k8s-gateway"}
    assert "app/app" not in names(ev, "Deployment")  # an app's own Deployment is not the edge's


def test_default_secrets_are_listener_refs_certificate_secrets_and_solver_credentials(
    api: FakeAPI, kubeconfig: Path
) -> None:
    ev = read(kubeconfig)
    # api-tls (Certificate app/api) does not exist: simply absent, not an error. The
    # solver's token Secret is read for its key names only (the redaction tests hold that).
    assert names(ev, "Secret") == {"envoy-gateway/wildcard-tls", "cert-manager/cloudflare-api-token"}
    fetched = {r["path"] for r in api.requests if "/secrets/" in r["path"]}
    assert fetched == {
        "/api/v1/namespaces/envoy-gateway/secrets/wildcard-tls",
        "/api/v1/namespaces/app/secrets/api-tls",
        "/api/v1/namespaces/cert-manager/secrets/cloudflare-api-token",
    }
    assert "Secret" in ev.kinds_read
    assert ev.errors == []


def test_secret_names_callback_chooses(api: FakeAPI, kubeconfig: Path) -> None:
    seen: list[int] = []

    def chooser(objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
        seen.append(len(objects))
        assert any(o["kind"] == "ClusterIssuer" for o in objects)
        return solver_and_listener_secrets(objects)

    ev = read(kubeconfig, secret_names=chooser)
    assert seen and seen[0] > 0
    assert names(ev, "Secret") == {
        "envoy-gateway/wildcard-tls",
        "cert-manager/cloudflare-api-token",
    }
    assert "app/unrelated" not in names(ev, "Secret")


def test_configmaps_only_corefiles_where_dns_servers_run(api: FakeAPI, kubeconfig: Path) -> None:
    ev = read(kubeconfig)
    assert names(ev, "ConfigMap") == {"dns/k8s-gateway"}
    cm_paths = {r["path"] for r in api.requests if "configmaps" in r["path"]}
    assert cm_paths == {"/api/v1/namespaces/dns/configmaps/k8s-gateway"}  # by name, as mounted
    assert "ConfigMap" in ev.kinds_read


def test_older_served_version_is_used(api: FakeAPI, kubeconfig: Path) -> None:
    api.serve_versions("Gateway", ["v1beta1"])
    ev = read(kubeconfig)
    (gw,) = by_kind(ev, "Gateway")
    assert gw["apiVersion"] == "gateway.networking.k8s.io/v1beta1"
    assert "Gateway" in ev.kinds_read
    assert ev.errors == []


def test_snapshot_file_feeds_the_server(tmp_path: Path) -> None:
    snap = tmp_path / "snap.yaml"
    snap.write_text(
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: gateway.networking.k8s.io/v1\n  kind: Gateway\n"
        "  metadata: {name: from-file, namespace: edge}\n  spec: {gatewayClassName: eg}\n"
        "---\n"
        "apiVersion: v1\nkind: ServiceList\nitems:\n- metadata: {name: svc, namespace: edge}\n"
        "- metadata: {name: from-file, namespace: edge}\n"
    )
    with FakeAPI.from_snapshot([snap]) as server:
        ev = read(server.kubeconfig(tmp_path / "config"))
    assert names(ev, "Gateway") == {"edge/from-file"}
    # Only the Service named as the Gateway is the chain's (GatewayNamespace mode).
    assert names(ev, "Service") == {"edge/from-file"}


# ---------------------------------------------------------------- kinds that fail


def test_missing_crd_is_unknown_and_the_rest_is_read(api: FakeAPI, kubeconfig: Path) -> None:
    api.fail(kind="Certificate", status=404)
    api.fail(kind="Gateway", status=404)
    ev = read(kubeconfig)
    assert ev.reachable is True
    assert {
        "kind": "Certificate",
        "status": "unknown",
        "reason": "CRD for Certificate (cert-manager.io) is not installed (cert-manager missing?)",
    } in ev.errors
    assert {
        "kind": "Gateway",
        "status": "unknown",
        "reason": "CRD for Gateway (gateway.networking.k8s.io) is not installed (Gateway API missing?)",
    } in ev.errors
    assert "Certificate" not in ev.kinds_read
    assert "Gateway" not in ev.kinds_read
    assert by_kind(ev, "Certificate") == []
    assert names(ev, "HTTPRoute") == {"app/app"}
    assert "Order" in ev.kinds_read
    gateway_tries = [r["path"] for r in api.requests if r["path"].endswith("/gateways")]
    assert gateway_tries == [
        "/apis/gateway.networking.k8s.io/v1/gateways",
        "/apis/gateway.networking.k8s.io/v1beta1/gateways",
    ]


def test_server_error(api: FakeAPI, kubeconfig: Path) -> None:
    api.fail(kind="Service", status=500, message="etcdserver: request timed out")
    ev = read(kubeconfig)
    assert {
        "kind": "Service",
        "status": "error",
        "reason": "API error 500: etcdserver: request timed out",
    } in ev.errors
    assert "Service" not in ev.kinds_read
    assert len(ev.errors) == 1


@pytest.mark.timeout(20)
def test_hanging_kind_times_out_and_the_rest_is_read(api: FakeAPI, kubeconfig: Path) -> None:
    api.fail(kind="Challenge", hang=True)
    ev = read(kubeconfig, timeout=2.0)
    (err,) = ev.errors
    assert err["kind"] == "Challenge"
    assert err["status"] == "error"
    assert err["reason"].startswith("timed out after ")
    assert "Challenge" not in ev.kinds_read
    # The narrow reads after the LISTs still had time.
    assert names(ev, "Secret") == {"envoy-gateway/wildcard-tls", "cert-manager/cloudflare-api-token"}
    assert names(ev, "ConfigMap") == {"dns/k8s-gateway"}
    assert names(ev, "Certificate") == {"envoy-gateway/wildcard", "app/api"}


def test_forbidden_secret(api: FakeAPI, kubeconfig: Path) -> None:
    api.fail(path="/api/v1/namespaces/envoy-gateway/secrets/wildcard-tls", status=403)
    ev = read(kubeconfig)
    (err,) = ev.errors
    assert err["kind"] == "Secret"
    assert err["status"] == "unknown"
    assert err["reason"].startswith("envoy-gateway/wildcard-tls: forbidden: cannot get secrets (")
    assert "Secret" not in ev.kinds_read


@pytest.mark.timeout(20)
def test_hanging_secret_times_out_within_the_deadline(api: FakeAPI, kubeconfig: Path) -> None:
    api.fail(path="/api/v1/namespaces/envoy-gateway/secrets/", hang=True)
    ev = read(kubeconfig, timeout=2.0)
    (err,) = ev.errors
    assert err["kind"] == "Secret"
    assert err["reason"].startswith("envoy-gateway/wildcard-tls: timed out after ")
    assert "Secret" not in ev.kinds_read
    assert names(ev, "ConfigMap") == {"dns/k8s-gateway"}
    assert names(ev, "Gateway") == {"envoy-gateway/edge"}


def test_deployments_unreadable_means_configmaps_unread(api: FakeAPI, kubeconfig: Path) -> None:
    api.fail(kind="Deployment", status=403)
    ev = read(kubeconfig)
    assert by_kind(ev, "ConfigMap") == []
    assert "ConfigMap" not in ev.kinds_read
    assert {e["kind"] for e in ev.errors} == {"Deployment", "ConfigMap"}


def test_a_failing_secret_chooser_does_not_end_the_read(api: FakeAPI, kubeconfig: Path) -> None:
    def broken(objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
        raise KeyError("spec")

    ev = read(kubeconfig, secret_names=broken)
    (err,) = ev.errors
    assert err["kind"] == "Secret" and err["status"] == "error"
    assert "KeyError" in err["reason"]
    assert "Secret" not in ev.kinds_read
    assert names(ev, "Gateway") == {"envoy-gateway/edge"}


# ---------------------------------------------------------------- servers that cannot be read


@pytest.mark.timeout(10)
def test_dead_server_is_unreachable(api: FakeAPI, kubeconfig: Path) -> None:
    ev = read(kubeconfig, context="dead")
    assert ev.reachable is False
    assert ev.objects == [] and ev.kinds_read == []
    (err,) = ev.errors
    assert err["kind"] == "*" and err["status"] == "unknown"
    assert err["reason"].startswith("cannot reach the API server at http://127.0.0.1:")
    assert "refused" in err["reason"].lower()
    assert ev.context == "dead"


@pytest.mark.timeout(15)
def test_server_that_never_answers_is_unreachable(api: FakeAPI, kubeconfig: Path) -> None:
    api.fail_all(hang=True)
    ev = read(kubeconfig, timeout=2.0)
    assert ev.reachable is False
    (err,) = ev.errors
    assert "no answer within" in err["reason"]
    # One probe, not one request per kind.
    assert len(api.requests) == 1


def test_rejected_credentials(api: FakeAPI, kubeconfig: Path) -> None:
    ev = read(kubeconfig, context="badtoken")
    assert ev.reachable is False
    (err,) = ev.errors
    assert "rejected the credentials of context 'badtoken' (401 Unauthorized)" in err["reason"]
    assert len(api.requests) == 1


def test_tls_server_with_its_ca(tmp_path: Path) -> None:
    with FakeAPI(sample_objects(), tls=True) as server:
        assert server.url.startswith("https://")
        ev = read(server.kubeconfig(tmp_path / "config"))
    assert ev.reachable is True and ev.errors == []
    assert names(ev, "Gateway") == {"envoy-gateway/edge"}


def test_tls_server_with_a_wrong_ca(tmp_path: Path) -> None:
    other = tmp_path / "other-ca"
    other.mkdir()
    wrong_ca, _, _ = make_ca_and_cert(other)
    with FakeAPI(sample_objects(), tls=True) as server:
        spec = server.context_spec("wrongca")
        spec.ca_pem = wrong_ca
        path = write_kubeconfig(tmp_path / "config", [spec], "wrongca")
        ev = read(path)
    assert ev.reachable is False
    (err,) = ev.errors
    assert "TLS error" in err["reason"]
    assert "certificate verify failed" in err["reason"]


# ---------------------------------------------------------------- kubeconfig handling


def test_unknown_context(api: FakeAPI, kubeconfig: Path) -> None:
    with pytest.raises(LiveConfigError) as e:
        read(kubeconfig, context="nope")
    assert (
        str(e.value) == "context 'nope' not found in kubeconfig (available: badtoken, dead, fake)"
    )
    assert api.requests == []


def test_kubeconfig_env_with_two_files(
    api: FakeAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write_kubeconfig(
        tmp_path / "a.yaml",
        [
            ContextSpec("dead", f"http://127.0.0.1:{dead_port()}"),
            ContextSpec("fake", f"http://127.0.0.1:{dead_port()}"),
        ],
        "dead",
    )
    # The same context name in the second file loses to the first; a new name is added.
    second = write_kubeconfig(
        tmp_path / "b.yaml", [api.context_spec("live"), api.context_spec("fake")], "live"
    )
    monkeypatch.setenv(
        "KUBECONFIG", os.pathsep.join([str(first), str(tmp_path / "missing.yaml"), str(second)])
    )

    ev = read_live(context="live", timeout=5)
    assert ev.reachable is True and ev.context == "live"
    assert names(ev, "Gateway") == {"envoy-gateway/edge"}

    # kubectl: the first file to set current-context wins (here: dead).
    ev = read_live(timeout=5)
    assert ev.reachable is False and ev.context == "dead"
    ev = read_live(context="fake", timeout=5)
    assert ev.reachable is False

    with pytest.raises(LiveConfigError) as e:
        read_live(context="nope", timeout=5)
    assert "(available: dead, fake, live)" in str(e.value)


def test_default_kubeconfig_location(api: FakeAPI, tmp_path: Path) -> None:
    api.kubeconfig(Path(os.environ["HOME"]) / ".kube" / "config")
    ev = read_live(timeout=5)
    assert ev.reachable is True and ev.context == "fake"


def test_kubeconfig_is_never_written(
    api: FakeAPI, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    before = (hashlib.sha256(kubeconfig.read_bytes()).hexdigest(), kubeconfig.stat().st_mtime_ns)
    read(kubeconfig)
    read(kubeconfig, context="badtoken")
    read(kubeconfig, context="dead")
    read_live(timeout=5)
    after = (hashlib.sha256(kubeconfig.read_bytes()).hexdigest(), kubeconfig.stat().st_mtime_ns)
    assert before == after
    assert sorted(p.name for p in kubeconfig.parent.iterdir()) == ["config"]


def test_explicit_kubeconfig_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(LiveConfigError, match=r"^kubeconfig .*nowhere not found$"):
        read_live(kubeconfig=str(tmp_path / "nowhere"))


def test_kubeconfig_that_is_not_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "config"
    bad.write_text("clusters: [\n")
    with pytest.raises(LiveConfigError, match="not valid YAML"):
        read_live(kubeconfig=str(bad))


def test_kubeconfig_without_current_context(api: FakeAPI, tmp_path: Path) -> None:
    path = api.kubeconfig(tmp_path / "config", current=None)
    with pytest.raises(
        LiveConfigError, match=r"no current-context.*--context \(available: badtoken, dead, fake\)"
    ):
        read_live(kubeconfig=str(path))


def test_no_kubeconfig_and_not_in_a_cluster() -> None:
    with pytest.raises(LiveConfigError, match="no kubeconfig found"):
        read_live()


def test_in_cluster_service_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeAPI(sample_objects(), tls=True) as server:
        sa = tmp_path / "serviceaccount"
        sa.mkdir()
        (sa / "token").write_text(server.token or "")
        assert server.ca_pem is not None
        (sa / "ca.crt").write_bytes(server.ca_pem)
        monkeypatch.setattr(kube_config, "SERVICE_ACCOUNT_DIR", str(sa))
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(server.port))
        ev = read_live(timeout=5)
        with pytest.raises(LiveConfigError, match="only the in-cluster service account"):
            read_live(context="fake")
    assert ev.reachable is True and ev.errors == []
    assert ev.context == "in-cluster"
    assert names(ev, "Gateway") == {"envoy-gateway/edge"}


def test_importing_the_reader_does_not_import_kubernetes() -> None:
    code = (
        "import sys, edgedoctor.kube.live, edgedoctor.kube.writer, edgedoctor.kube.config; "
        "sys.exit(1 if any(m == 'kubernetes' or m.startswith('kubernetes.') for m in sys.modules) else 0)"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env={**os.environ, "PYTHONPATH": str(root)}
    )
    assert result.returncode == 0


def test_data_plane_only_of_the_chosen_gateways(api: FakeAPI, kubeconfig: Path) -> None:
    """With the host's Gateways chosen, their Envoy Deployments and Services are selected by
    the owner labels of those Gateways, not every data plane of the cluster."""
    read(kubeconfig, gateway_names=lambda objects: [("envoy-gateway", "edge")])
    selectors = {r["query"].get("labelSelector") for r in api.requests
                 if r["path"] in ("/apis/apps/v1/deployments", "/api/v1/services")}
    assert ("gateway.envoyproxy.io/owning-gateway-name=edge,"
            "gateway.envoyproxy.io/owning-gateway-namespace=envoy-gateway") in selectors
    assert "gateway.envoyproxy.io/owning-gateway-name" not in selectors  # not every data plane
    assert "app.kubernetes.io/managed-by=envoy-gateway" not in selectors


def test_the_cyclic_gc_is_paused_during_the_read_only(api: FakeAPI, kubeconfig: Path) -> None:
    """The read pauses the cyclic collector (its objects are acyclic and all kept) and gives
    it back as it found it: on after a read, after a read that failed, off if it was off."""
    import gc

    states: list[bool] = []

    def chooser(objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
        states.append(gc.isenabled())
        return []

    assert gc.isenabled()
    ev = read(kubeconfig, secret_names=chooser)
    assert ev.reachable and states == [False] and gc.isenabled()

    def broken(objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
        raise KeyboardInterrupt  # not caught by the reader: it must still give the collector back

    with pytest.raises(KeyboardInterrupt):
        read(kubeconfig, secret_names=broken)
    assert gc.isenabled()
    gc.disable()
    try:
        read(kubeconfig, secret_names=chooser)
        assert not gc.isenabled()
    finally:
        gc.enable()
