"""ClusterWriter over real HTTP against tests/fakeapi.py."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edgedoctor.kube.config import LiveConfigError
from edgedoctor.kube.writer import ClusterWriter, WriteError
from tests.fakeapi import FakeAPI, json_patch, merge_patch

PLANTED_TOKEN = "PLANTED-WRITER-TOKEN-3c9a"


def objects() -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": "wildcard", "namespace": "edge", "generation": 1},
            "spec": {"secretName": "wildcard-tls", "dnsNames": ["*.example.com"]},
            "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Failed"}]},
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "edge", "namespace": "edge"},
            "spec": {"gatewayClassName": "eg", "listeners": []},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "app", "namespace": "app"},
            "spec": {
                "replicas": 2,
                "template": {"spec": {"containers": [{"name": "a", "image": "nginx"}]}},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "app", "namespace": "app", "labels": {"a": "1"}},
            "spec": {"ports": [{"port": 80}]},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "cloudflare-api-token", "namespace": "cert-manager"},
            "type": "Opaque",
            "data": {"api-token": base64.b64encode(b"old-fake-token").decode()},
        },
    ]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("KUBECONFIG", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def api() -> Iterator[FakeAPI]:
    with FakeAPI(objects()) as server:
        yield server


@pytest.fixture
def kubeconfig(api: FakeAPI, tmp_path: Path) -> Path:
    return api.kubeconfig(tmp_path / "config")


@pytest.fixture
def writer(kubeconfig: Path) -> Iterator[ClusterWriter]:
    with ClusterWriter.from_config(str(kubeconfig)) as w:
        yield w


# ---------------------------------------------------------------- access reviews


def test_access_review_allowed(api: FakeAPI, writer: ClusterWriter) -> None:
    allowed, reason = writer.access_review(
        "patch", "cert-manager.io", "certificates", "edge", "wildcard"
    )
    assert allowed is True
    assert "RBAC" in reason
    assert api.access_reviews == [
        {
            "verb": "patch",
            "group": "cert-manager.io",
            "resource": "certificates",
            "namespace": "edge",
            "name": "wildcard",
        }
    ]
    assert api.writes == []  # asking is not writing


def test_access_review_denied(api: FakeAPI, writer: ClusterWriter) -> None:
    api.deny("delete", "orders", group="acme.cert-manager.io")
    allowed, reason = writer.access_review(
        "delete", "acme.cert-manager.io", "orders", "edge", "o-1"
    )
    assert allowed is False
    assert reason == (
        "not allowed to delete orders.acme.cert-manager.io 'o-1' in namespace edge (no RBAC rule grants it)"
    )
    allowed, _ = writer.access_review("get", "acme.cert-manager.io", "orders", "edge", "o-1")
    assert allowed is True


def test_access_review_for_a_subresource(api: FakeAPI, writer: ClusterWriter) -> None:
    api.deny("update", "certificates/status")
    assert (
        writer.access_review(
            "update", "cert-manager.io", "certificates", "edge", "wildcard", "status"
        )[0]
        is False
    )
    assert (
        writer.access_review("update", "cert-manager.io", "certificates", "edge", "wildcard")[0]
        is True
    )
    assert api.access_reviews[0]["subresource"] == "status"


# ---------------------------------------------------------------- patch


def test_dry_run_patch_does_not_store(api: FakeAPI, writer: ClusterWriter) -> None:
    before = api.get("Certificate", "edge", "wildcard")
    out = writer.patch(
        "Certificate", "edge", "wildcard", {"spec": {"renewBefore": "720h"}}, dry_run=True
    )
    assert out["spec"]["renewBefore"] == "720h"
    assert api.get("Certificate", "edge", "wildcard") == before
    (write,) = api.writes
    assert write["method"] == "PATCH"
    assert write["path"] == "/apis/cert-manager.io/v1/namespaces/edge/certificates/wildcard"
    assert write["query"]["dryRun"] == "All"
    assert write["content_type"] == "application/merge-patch+json"


def test_patch_stores(api: FakeAPI, writer: ClusterWriter) -> None:
    before = api.get("Certificate", "edge", "wildcard")
    assert before is not None
    out = writer.patch(
        "Certificate", "edge", "wildcard", {"spec": {"renewBefore": "720h"}}, dry_run=False
    )
    stored = api.get("Certificate", "edge", "wildcard")
    assert stored is not None
    assert stored["spec"]["renewBefore"] == "720h"
    assert stored["spec"]["dnsNames"] == ["*.example.com"]
    assert stored["metadata"]["resourceVersion"] != before["metadata"]["resourceVersion"]
    assert stored["metadata"]["generation"] == 2
    assert out["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]
    assert "dryRun" not in api.writes[0]["query"]
    assert api.writes[0]["query"]["fieldManager"] == "edgedoctor"


def test_patch_on_the_main_resource_leaves_status(api: FakeAPI, writer: ClusterWriter) -> None:
    writer.patch("Certificate", "edge", "wildcard", {"status": {"conditions": []}}, dry_run=False)
    stored = api.get("Certificate", "edge", "wildcard")
    assert stored is not None and stored["status"]["conditions"][0]["reason"] == "Failed"


def test_json_patch(api: FakeAPI, writer: ClusterWriter) -> None:
    ops = [{"op": "replace", "path": "/spec/replicas", "value": 0}]
    writer.patch("Deployment", "app", "app", ops, patch_type="json", dry_run=False)
    stored = api.get("Deployment", "app", "app")
    assert stored is not None and stored["spec"]["replicas"] == 0
    assert api.writes[0]["content_type"] == "application/json-patch+json"
    with pytest.raises(WriteError) as e:
        writer.patch(
            "Deployment",
            "app",
            "app",
            [{"op": "remove", "path": "/spec/nothing"}],
            patch_type="json",
            dry_run=True,
        )
    assert e.value.status == 422


def test_strategic_patch_on_builtin_and_custom_resources(
    api: FakeAPI, writer: ClusterWriter
) -> None:
    writer.patch(
        "Service",
        "app",
        "app",
        {"metadata": {"labels": {"b": "2"}}},
        patch_type="strategic",
        dry_run=False,
    )
    stored = api.get("Service", "app", "app")
    assert stored is not None and stored["metadata"]["labels"] == {"a": "1", "b": "2"}
    with pytest.raises(WriteError) as e:
        writer.patch("Gateway", "edge", "edge", {"spec": {}}, patch_type="strategic", dry_run=True)
    assert e.value.status == 415


def test_patch_a_status_subresource(api: FakeAPI, writer: ClusterWriter) -> None:
    writer.patch(
        "Certificate",
        "edge",
        "wildcard",
        {"status": {"conditions": [{"type": "Issuing", "status": "True"}]}},
        subresource="status",
        dry_run=False,
    )
    stored = api.get("Certificate", "edge", "wildcard")
    assert stored is not None and stored["status"]["conditions"] == [
        {"type": "Issuing", "status": "True"}
    ]
    assert api.writes[0]["path"].endswith("/certificates/wildcard/status")


def test_failing_dry_run_raises_with_status(api: FakeAPI, writer: ClusterWriter) -> None:
    message = 'admission webhook "webhook.cert-manager.io" denied the request: spec.dnsNames: Invalid value'
    api.fail_dry_run("Certificate", 400, message)
    with pytest.raises(WriteError) as e:
        writer.patch("Certificate", "edge", "wildcard", {"spec": {"dnsNames": ["x"]}}, dry_run=True)
    assert e.value.status == 400
    assert e.value.reason == message
    # Only dry runs were told to fail.
    writer.patch("Certificate", "edge", "wildcard", {"spec": {"renewBefore": "1h"}}, dry_run=False)


def test_forbidden_write(api: FakeAPI, writer: ClusterWriter) -> None:
    api.fail(kind="Certificate", verb="patch", status=403)
    with pytest.raises(WriteError) as e:
        writer.patch("Certificate", "edge", "wildcard", {"spec": {}}, dry_run=True)
    assert e.value.status == 403
    assert 'cannot patch resource "certificates"' in e.value.reason
    assert writer.get("Certificate", "edge", "wildcard") is not None


def test_patch_missing_object(writer: ClusterWriter) -> None:
    with pytest.raises(WriteError) as e:
        writer.patch("Certificate", "edge", "nope", {"spec": {}}, dry_run=True)
    assert e.value.status == 404
    assert e.value.reason == 'certificates.cert-manager.io "nope" not found'


def test_served_version_is_found(api: FakeAPI, writer: ClusterWriter) -> None:
    api.serve_versions("Gateway", ["v1beta1"])
    out = writer.patch(
        "Gateway", "edge", "edge", {"spec": {"gatewayClassName": "other"}}, dry_run=False
    )
    assert out["apiVersion"] == "gateway.networking.k8s.io/v1beta1"
    assert [r["path"] for r in api.requests if r["method"] == "PATCH"] == [
        "/apis/gateway.networking.k8s.io/v1/namespaces/edge/gateways/edge",
        "/apis/gateway.networking.k8s.io/v1beta1/namespaces/edge/gateways/edge",
    ]


def test_bad_arguments(writer: ClusterWriter) -> None:
    with pytest.raises(ValueError):
        writer.patch(
            "Certificate", "edge", "wildcard", {"op": "x"}, patch_type="json", dry_run=True
        )
    with pytest.raises(ValueError):
        writer.patch("Certificate", "edge", "wildcard", {}, patch_type="apply", dry_run=True)
    with pytest.raises(ValueError):
        writer.patch("Pod", "edge", "wildcard", {}, dry_run=True)
    with pytest.raises(ValueError):
        writer.patch("Certificate", None, "wildcard", {}, dry_run=True)


# ---------------------------------------------------------------- status, create, delete, get


def test_update_status(api: FakeAPI, writer: ClusterWriter) -> None:
    cert = writer.get("Certificate", "edge", "wildcard")
    assert cert is not None
    cert["status"] = {
        "conditions": [{"type": "Issuing", "status": "True", "reason": "ManuallyTriggered"}]
    }
    cert["spec"]["dnsNames"] = ["changed.example.com"]  # not taken through /status

    writer.update_status("Certificate", "edge", "wildcard", cert, dry_run=True)
    stored = api.get("Certificate", "edge", "wildcard")
    assert stored is not None and stored["status"]["conditions"][0]["reason"] == "Failed"

    out = writer.update_status("Certificate", "edge", "wildcard", cert, dry_run=False)
    stored = api.get("Certificate", "edge", "wildcard")
    assert stored is not None
    assert stored["status"]["conditions"][0]["reason"] == "ManuallyTriggered"
    assert stored["spec"]["dnsNames"] == ["*.example.com"]
    assert out["status"] == stored["status"]
    assert [(w["method"], w["path"]) for w in api.writes] == [
        ("PUT", "/apis/cert-manager.io/v1/namespaces/edge/certificates/wildcard/status")
    ] * 2

    # A stale resourceVersion is a conflict, as on a real server.
    with pytest.raises(WriteError) as e:
        writer.update_status("Certificate", "edge", "wildcard", cert, dry_run=False)
    assert e.value.status == 409


def test_create(api: FakeAPI, writer: ClusterWriter) -> None:
    cm = {"metadata": {"name": "probe"}, "data": {"k": "v"}}
    out = writer.create("ConfigMap", "app", cm, dry_run=True)
    assert out["metadata"]["name"] == "probe" and out["kind"] == "ConfigMap"
    assert api.get("ConfigMap", "app", "probe") is None
    writer.create("ConfigMap", "app", cm, dry_run=False)
    stored = api.get("ConfigMap", "app", "probe")
    assert stored is not None and stored["data"] == {"k": "v"}
    with pytest.raises(WriteError) as e:
        writer.create("ConfigMap", "app", cm, dry_run=True)
    assert e.value.status == 409
    assert api.writes[0]["path"] == "/api/v1/namespaces/app/configmaps"


def test_delete(api: FakeAPI, writer: ClusterWriter) -> None:
    writer.delete("Certificate", "edge", "wildcard", dry_run=True)
    assert api.get("Certificate", "edge", "wildcard") is not None
    out = writer.delete("Certificate", "edge", "wildcard", dry_run=False)
    assert out["metadata"]["name"] == "wildcard"
    assert api.get("Certificate", "edge", "wildcard") is None
    assert writer.get("Certificate", "edge", "wildcard") is None
    with pytest.raises(WriteError) as e:
        writer.delete("Certificate", "edge", "wildcard", dry_run=True)
    assert e.value.status == 404
    # Every option travels in the DeleteOptions body: kube-apiserver ignores the query
    # of a DELETE that has a body.
    assert [w["dry_run"] for w in api.writes] == [True, False, True]
    assert [(w["body"] or {}).get("dryRun") for w in api.writes] == [["All"], None, ["All"]]
    assert all(w["query"].get("dryRun") is None for w in api.writes)
    assert all((w["body"] or {}).get("propagationPolicy") == "Background" for w in api.writes)


def test_fake_server_takes_delete_options_from_the_body(api: FakeAPI, kubeconfig: Path) -> None:
    """The pre-hotfix writer (dryRun in the query beside a DeleteOptions body) deleted
    for real on kube-apiserver; the fake now behaves the same, so such a writer fails here."""

    class QueryDryRunWriter(ClusterWriter):
        def delete(self, kind: str, namespace: str | None, name: str, *, dry_run: bool,
                   uid: str | None = None, resource_version: str | None = None) -> dict[str, Any]:
            body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}
            query = [("dryRun", "All")] if dry_run else []
            return self._request(
                "DELETE",
                f"/apis/cert-manager.io/v1/namespaces/{namespace}/certificates/{name}",
                body=body,
                query=query,
            )

    old = QueryDryRunWriter.from_config(str(kubeconfig), "fake")
    try:
        old.delete("Certificate", "edge", "wildcard", dry_run=True)
    finally:
        old.close()
    assert api.get("Certificate", "edge", "wildcard") is None, "the query-only dry run must delete"


def test_delete_preconditions(api: FakeAPI, writer: ClusterWriter) -> None:
    live = writer.get("Certificate", "edge", "wildcard")
    assert live is not None
    uid, rv = live["metadata"]["uid"], live["metadata"]["resourceVersion"]
    # A changed object (another resourceVersion) is not deleted, not even in a dry run.
    with pytest.raises(WriteError) as e:
        writer.delete("Certificate", "edge", "wildcard", dry_run=False, uid=uid, resource_version="1")
    assert e.value.status == 409 and "Precondition failed" in e.value.reason
    with pytest.raises(WriteError) as e:
        writer.delete("Certificate", "edge", "wildcard", dry_run=False, uid="another-uid")
    assert e.value.status == 409
    assert api.get("Certificate", "edge", "wildcard") is not None
    writer.delete("Certificate", "edge", "wildcard", dry_run=True, uid=uid, resource_version=rv)
    assert api.get("Certificate", "edge", "wildcard") is not None
    writer.delete("Certificate", "edge", "wildcard", dry_run=False, uid=uid, resource_version=rv)
    assert api.get("Certificate", "edge", "wildcard") is None
    bodies = [w["body"] for w in api.writes]
    assert bodies[-1]["preconditions"] == {"uid": uid, "resourceVersion": rv}


def test_secrets_come_back_redacted_and_bodies_are_not_logged(
    api: FakeAPI, writer: ClusterWriter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    planted = base64.b64encode(PLANTED_TOKEN.encode()).decode()
    out = writer.patch(
        "Secret",
        "cert-manager",
        "cloudflare-api-token",
        {"data": {"api-token": planted}},
        dry_run=False,
    )
    got = writer.get("Secret", "cert-manager", "cloudflare-api-token")
    stored = api.get("Secret", "cert-manager", "cloudflare-api-token")
    assert stored is not None and stored["data"]["api-token"] == planted  # the server has it
    for answer in (out, got):
        assert answer is not None
        assert answer["redacted"] is True and answer["data"] == {}
        assert answer["keys"] == ["api-token"]
        assert planted not in repr(answer) and PLANTED_TOKEN not in repr(answer)
    assert planted not in caplog.text and PLANTED_TOKEN not in caplog.text


# ---------------------------------------------------------------- servers that fail


def test_dead_server(kubeconfig: Path) -> None:
    with ClusterWriter.from_config(str(kubeconfig), "dead") as w, pytest.raises(WriteError) as e:
        w.patch("Certificate", "edge", "wildcard", {"spec": {}}, dry_run=True)
    assert e.value.status == 0
    assert e.value.reason.startswith("cannot reach the API server at http://127.0.0.1:")


@pytest.mark.timeout(10)
def test_hanging_server(api: FakeAPI, kubeconfig: Path) -> None:
    api.fail(kind="Certificate", hang=True)
    with (
        ClusterWriter.from_config(str(kubeconfig), timeout=0.5) as w,
        pytest.raises(WriteError) as e,
    ):
        w.patch("Certificate", "edge", "wildcard", {"spec": {}}, dry_run=True)
    assert e.value.status == 0
    assert e.value.reason == "timed out after 0.5s"


def test_unknown_context(kubeconfig: Path) -> None:
    with pytest.raises(LiveConfigError, match="context 'nope' not found"):
        ClusterWriter.from_config(str(kubeconfig), "nope")


# ---------------------------------------------------------------- the fake's own patch logic


def test_merge_patch_rfc7386() -> None:
    assert merge_patch({"a": "b", "c": {"d": "e", "f": "g"}}, {"a": "z", "c": {"f": None}}) == {
        "a": "z",
        "c": {"d": "e"},
    }
    assert merge_patch({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}


def test_json_patch_rfc6902() -> None:
    doc = {"a": {"b": [1, 2]}, "c": 1}
    out = json_patch(
        doc,
        [
            {"op": "add", "path": "/a/b/-", "value": 3},
            {"op": "add", "path": "/a/b/0", "value": 0},
            {"op": "move", "from": "/c", "path": "/d"},
            {"op": "copy", "from": "/d", "path": "/e"},
            {"op": "test", "path": "/e", "value": 1},
            {"op": "add", "path": "/a/x~1y", "value": 1},
        ],
    )
    assert out == {"a": {"b": [0, 1, 2, 3], "x/y": 1}, "d": 1, "e": 1}
    assert doc == {"a": {"b": [1, 2]}, "c": 1}
