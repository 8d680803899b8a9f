"""`edgedoctor check` live, end to end: the CLI, the live reader over real HTTP against
the fake API server, and the diagnosis, in a subprocess as users run it."""

from __future__ import annotations

import json

from tests import casekit
from tests.fakeapi import FakeAPI
from tests.test_cli import NOW, run


def _objects(case: str | None = None):
    objs = casekit.base_objects()
    if case:
        c = next(c for c in casekit.load_cases() if c["name"] == case)
        objs = casekit.apply_edits(objs, casekit.expand(c.get("broken")))
    return casekit.apply_edits(objs, {})


def test_live_healthy_and_broken(tmp_path):
    with FakeAPI(_objects()) as api:
        kc = api.kubeconfig(tmp_path / "config")
        p = run("check", "app.example.com", "--kubeconfig", str(kc), "--offline", "--now", NOW, "-o", "json")
        assert p.returncode == 0, p.stdout + p.stderr
        doc = json.loads(p.stdout)
        assert doc["source"]["kind"] == "live" and doc["source"]["context"] == "fake"
        assert api.writes == []
        # The Secret was read by name: only what the host needs.
        secret_gets = [r["path"] for r in api.requests if "/secrets/" in r["path"]]
        assert secret_gets and all("wildcard-example-com-tls" in r or "cloudflare-api-token" in r for r in secret_gets)
    with FakeAPI(_objects("cert-cloudflare-7003-cleanup")) as api:
        kc = api.kubeconfig(tmp_path / "config2")
        p = run("check", "app.example.com", "--kubeconfig", str(kc), "--offline", "--now", NOW, "-o", "json")
        assert p.returncode == 2
        assert json.loads(p.stdout)["root_cause"]["code"] == "cert-cloudflare-7003-cleanup"


def test_live_forbidden_kind_is_unknown_and_the_rest_goes_on(tmp_path):
    with FakeAPI(_objects()) as api:
        api.fail(kind="Certificate", status=403)
        kc = api.kubeconfig(tmp_path / "config")
        p = run("check", "app.example.com", "--kubeconfig", str(kc), "--offline", "--now", NOW, "-o", "json")
        doc = json.loads(p.stdout)
        nodes = {n["node"]: n for n in doc["tree"]}
        assert nodes["certificate"]["status"] == "unknown"
        assert nodes["route"]["status"] == "pass" and nodes["gateway"]["status"] == "pass"
        assert doc["verdict"] == "unknown" and p.returncode == 3
        assert fake_token_absent(p.stdout + p.stderr)


def test_live_crd_missing_gateway_api(tmp_path):
    with FakeAPI(_objects()) as api:
        for kind in ("Gateway", "GatewayClass", "HTTPRoute", "GRPCRoute", "ReferenceGrant"):
            api.fail(kind=kind, status=404)
        kc = api.kubeconfig(tmp_path / "config")
        p = run("check", "app.example.com", "--kubeconfig", str(kc), "--offline", "--now", NOW, "-o", "json")
        doc = json.loads(p.stdout)
        gw = next(n for n in doc["tree"] if n["node"] == "gateway")
        assert gw["status"] == "unknown" and "not installed" in gw["summary"]
        assert p.returncode == 3


def fake_token_absent(text: str) -> bool:
    from tests.fakeapi import FAKE_TOKEN

    return FAKE_TOKEN not in text
