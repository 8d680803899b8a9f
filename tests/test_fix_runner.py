"""`edgedoctor fix` over real HTTP against tests/fakeapi.py (live mode, its kubeconfig):
confirmation and refusal, access reviews, server dry runs, idempotency, the
two-Certificate cleanup, and a Cloudflare token that never shows."""

from __future__ import annotations

import base64
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edgedoctor.cli import main
from edgedoctor.kube.writer import WriteError
from edgedoctor.remedy import Executor, StepPlan
from tests import casekit
from tests.fakeapi import FAKE_USER, FakeAPI
from tests.test_playbooks_plan import (
    HOST,
    NO_REDIRECT,
    case_edits,
    cert_manager_version,
    combine,
    objects,
    second_stuck_chain,
    snapshot,
)

PLANTED_TOKEN = "PLANTED-cf-token-7Hq2xV9kLm3Zr8"


class _Stdin(io.StringIO):
    def __init__(self, text: str, tty: bool) -> None:
        super().__init__(text)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("KUBECONFIG", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "EDGEDOCTOR_TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)


class Run:
    def __init__(self, rc: int, out: str, err: str, audit: Path) -> None:
        self.rc, self.out, self.err = rc, out, err
        self.audit_lines = [json.loads(x) for x in audit.read_text().splitlines()] if audit.exists() else []


class Cluster:
    def __init__(self, api: FakeAPI, tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.api = api
        self.kubeconfig = api.kubeconfig(tmp_path / "kube" / "config")
        self.audit = tmp_path / "audit.log"
        self._capsys, self._mp = capsys, monkeypatch

    def fix(self, playbook: str, *flags: str, stdin: str = "", tty: bool = False, host: str = HOST) -> Run:
        self._mp.setattr(sys, "stdin", _Stdin(stdin, tty))
        self._capsys.readouterr()
        rc = main(["fix", playbook, host, "--kubeconfig", str(self.kubeconfig), "--offline", "--now", casekit.NOW,
                   "--audit-log", str(self.audit), *flags])
        cap = self._capsys.readouterr()
        return Run(rc, cap.out, cap.err, self.audit)

    def changes(self) -> list[tuple[str, str]]:
        """The writes that were not dry runs: (method, path)."""
        return [(w["method"], w["path"]) for w in self.api.writes if not w["dry_run"]]


@pytest.fixture
def cluster(request: pytest.FixtureRequest, tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    edits = getattr(request, "param", None) or {}
    with FakeAPI(objects(edits)) as api:
        yield Cluster(api, tmp_path, capsys, monkeypatch)


def edits(e: dict[str, Any]) -> Any:
    return pytest.mark.parametrize("cluster", [e], indirect=True)


CERT_STATUS = "/apis/cert-manager.io/v1/namespaces/gateway/certificates/wildcard-example-com/status"
EXPIRED = case_edits("cert-expired")
STUCK = {"stuck_issuance": {"created": "2026-12-01T22:00:00Z"}}


# ---------------------------------------------------------------- force-renew: confirm, decline, refuse


@edits(EXPIRED)
def test_force_renew_with_yes_updates_status_and_keeps_other_conditions(cluster):
    r = cluster.fix("force-renew", "--apply", "--yes")
    assert r.rc == 2, r.out + r.err  # applied; the certificate stays expired until cert-manager acts
    assert cluster.changes() == [("PUT", CERT_STATUS)]
    dry = [w for w in cluster.api.writes if w["dry_run"]]
    assert [w["path"] for w in dry] == [CERT_STATUS]  # the server dry run came first
    cert = cluster.api.get("Certificate", "gateway", "wildcard-example-com")
    conds = {c["type"]: c for c in cert["status"]["conditions"]}
    assert conds["Issuing"]["status"] == "True" and conds["Issuing"]["reason"] == "ManuallyTriggered"
    assert conds["Issuing"]["message"] == "Certificate re-issuance manually triggered"
    assert conds["Ready"]["reason"] == "Ready"  # kept
    assert cert["status"]["notAfter"] == "2027-02-18T02:00:00Z"
    reviews = cluster.api.access_reviews
    assert {"verb": "update", "group": "cert-manager.io", "resource": "certificates", "subresource": "status",
            "namespace": "gateway", "name": "wildcard-example-com"} in reviews
    assert "diagnosis: critical cert-expired -> critical cert-expired" in r.out
    assert [(x["dry_run"], x["applied"], x["result"]) for x in r.audit_lines] == [(True, False, "ok"), (False, True, "ok")]
    assert r.audit_lines[1]["object"] == "Certificate gateway/wildcard-example-com" and r.audit_lines[1]["op"] == "update-status"
    # Who the API server says made the change (SelfSubjectReview), on every line.
    assert {x["user"] for x in r.audit_lines} == {FAKE_USER}


@edits(EXPIRED)
def test_force_renew_declined_at_the_prompt(cluster):
    r = cluster.fix("force-renew", "--apply", stdin="n\n", tty=True)
    assert r.rc == 0
    assert cluster.changes() == []
    assert "Apply set-issuing" in r.out and "declined" in r.out
    assert r.audit_lines[-1]["result"] == "declined" and not r.audit_lines[-1]["applied"]
    assert "Issuing" not in json.dumps(cluster.api.get("Certificate", "gateway", "wildcard-example-com")["status"])


@edits(EXPIRED)
def test_force_renew_confirmed_at_the_prompt(cluster):
    r = cluster.fix("force-renew", "--apply", stdin="y\n", tty=True)
    assert r.rc == 2
    assert cluster.changes() == [("PUT", CERT_STATUS)]


@edits(EXPIRED)
def test_no_terminal_and_no_yes_changes_nothing(cluster):
    r = cluster.fix("force-renew", "--apply", stdin="y\n", tty=False)
    assert r.rc == 3 and "no terminal" in r.err
    assert cluster.changes() == []
    assert r.audit_lines[-1]["result"] == "refused"


@edits(EXPIRED)
def test_without_apply_it_is_a_dry_run(cluster):
    r = cluster.fix("force-renew", "--yes")
    assert r.rc == 0
    assert cluster.changes() == [] and [w["dry_run"] for w in cluster.api.writes] == [True]
    assert "dry run passed" in r.out and "Dry run only" in r.out and "--yes confirms changes only together with --apply" in r.out


@edits(EXPIRED)
def test_access_review_403_makes_no_change(cluster):
    cluster.api.deny("update", "certificates/status")
    r = cluster.fix("force-renew", "--apply", "--yes")
    assert r.rc == 3
    assert cluster.api.writes == []  # not even the dry run: permission is checked first
    assert "not allowed to update certificates/status.cert-manager.io" in r.out
    assert "no change was made" in r.err and "Traceback" not in r.err
    assert [x["result"] for x in r.audit_lines][:1] == ["denied"]
    assert not any(x["applied"] for x in r.audit_lines)


@edits(EXPIRED)
def test_failing_dry_run_makes_no_change(cluster):
    cluster.api.fail_dry_run("Certificate", 422, message='admission webhook "webhook.cert-manager.io" denied the request')
    r = cluster.fix("force-renew", "--apply", "--yes")
    assert r.rc == 3
    assert cluster.changes() == []
    puts = [q for q in cluster.api.requests if q["method"] == "PUT"]
    assert [(q["path"], q["query"].get("dryRun")) for q in puts] == [(CERT_STATUS, "All")]
    assert "server dry run refused" in r.out and "denied the request" in r.out
    assert r.audit_lines[0]["result"] == "failed" and r.audit_lines[0]["dry_run"]


@edits(EXPIRED)
def test_force_renew_twice_changes_nothing_the_second_time(cluster):
    first = cluster.fix("force-renew", "--apply", "--yes")
    assert first.rc == 2 and len(cluster.changes()) == 1
    writes = len(cluster.api.writes)
    second = cluster.fix("force-renew", "--apply", "--yes")
    assert second.rc == 0, second.out + second.err
    assert len(cluster.api.writes) == writes  # no write, not even a dry run
    assert "nothing to change: Issuing is already True" in second.out
    assert "Nothing to change" in second.out


# ---------------------------------------------------------------- create-reference-grant


@edits(case_edits("cert-refgrant-missing"))
def test_reference_grant_created_once(cluster):
    first = cluster.fix("create-reference-grant", "--apply", "--yes")
    assert first.rc == 2, first.out + first.err  # the listener status is the controller's to update
    assert cluster.changes() == [("POST", "/apis/gateway.networking.k8s.io/v1/namespaces/certs/referencegrants")]
    grant = cluster.api.get("ReferenceGrant", "certs", "gateway-gateway-to-secret-wildcard-example-com-tls")
    assert grant["spec"]["to"] == [{"group": "", "kind": "Secret", "name": "wildcard-example-com-tls"}]
    writes = len(cluster.api.writes)
    second = cluster.fix("create-reference-grant", "--apply", "--yes")
    assert second.rc == 0, second.out + second.err
    assert len(cluster.api.writes) == writes
    assert "already allows Gateway gateway -> Secret wildcard-example-com-tls" in second.out


# ---------------------------------------------------------------- cleanup, two Certificates


@edits(combine(STUCK, second_stuck_chain()))
def test_cleanup_deletes_only_the_named_certificates_objects(cluster):
    r = cluster.fix("cleanup-stuck-orders", "--apply", "--yes")
    assert r.rc == 2, r.out + r.err
    ns = "/namespaces/gateway"
    assert cluster.changes() == [
        ("DELETE", f"/apis/acme.cert-manager.io/v1{ns}/orders/wildcard-example-com-1-2264498345"),
        ("DELETE", f"/apis/acme.cert-manager.io/v1{ns}/challenges/wildcard-example-com-1-2264498345-1850000000"),
        ("DELETE", f"/apis/acme.cert-manager.io/v1{ns}/challenges/wildcard-example-com-1-2264498345-1850000001"),
        ("DELETE", f"/apis/cert-manager.io/v1{ns}/certificaterequests/wildcard-example-com-1"),
    ]
    assert not any("shop-example-com" in w["path"] for w in cluster.api.writes)
    left = {(o["kind"], o["metadata"]["name"]) for o in cluster.api.objects() if o["kind"] in ("CertificateRequest", "Order", "Challenge")}
    assert left == {("CertificateRequest", "shop-example-com-1"), ("Order", "shop-example-com-1-998877"),
                    ("Challenge", "shop-example-com-1-998877-0"), ("Challenge", "shop-example-com-1-998877-1")}
    assert sum(1 for x in r.audit_lines if x["applied"]) == 4


@edits(STUCK)
def test_cleanup_dry_run_deletes_nothing_and_apply_audits_every_delete(cluster):
    before = {(o["kind"], o["metadata"]["name"]): o["metadata"]["resourceVersion"] for o in cluster.api.objects()}
    dry = cluster.fix("cleanup-stuck-orders")
    assert dry.rc == 0, dry.out + dry.err
    assert "Dry run only: nothing was changed" in dry.out
    assert {(o["kind"], o["metadata"]["name"]): o["metadata"]["resourceVersion"] for o in cluster.api.objects()} == before
    deletes = [w for w in cluster.api.writes if w["method"] == "DELETE"]
    assert deletes and all(w["dry_run"] and w["body"]["dryRun"] == ["All"] for w in deletes)
    assert all(set(w["body"]["preconditions"]) == {"uid", "resourceVersion"} for w in deletes)

    r = cluster.fix("cleanup-stuck-orders", "--apply", "--yes")
    assert "nothing to change" not in r.out and "No change was made" not in r.out, r.out
    applied = [x for x in r.audit_lines if x["applied"]]
    assert {x["op"] for x in applied} == {"delete"}
    assert len(applied) == len([c for c in cluster.changes() if c[0] == "DELETE"]) >= 2
    kinds = {x["object"].split()[0] for x in applied}
    assert {"Order", "CertificateRequest"} <= kinds


@edits(STUCK)
def test_a_delete_of_a_changed_object_is_a_conflict_not_a_retry(cluster):
    from edgedoctor.collect import CheckOptions, gather
    from edgedoctor.diagnosis.engine import diagnose
    from edgedoctor.kube.writer import ClusterWriter
    from edgedoctor.remedy import build_plan

    ev = gather(CheckOptions(host=HOST, kubeconfig=str(cluster.kubeconfig), offline=True, now=casekit.NOW))
    plan = build_plan("cleanup-stuck-orders", ev, diagnose(ev), read_only=False)
    s = next(x for x in plan.change_steps if x.change["kind"] == "Order")

    class ChangedInBetween(ClusterWriter):
        # cert-manager updates the Order between our read and our delete.
        def delete(self, *a: Any, **kw: Any) -> Any:
            if not kw.get("dry_run"):
                o = cluster.api.get("Order", "gateway", s.change["name"])
                cluster.api.add({**o, "metadata": {**o["metadata"], "labels": {"touched": "yes"}}})
            return super().delete(*a, **kw)

    with ChangedInBetween.from_config(str(cluster.kubeconfig)) as w:
        ex = Executor(w, audit_log=str(cluster.audit), read_only=False, evidence=ev, playbook_id=plan.playbook_id)
        r = ex.apply(s)
    assert not r.ok and r.outcome == "conflict", r
    assert "changed since it was read" in r.message
    assert cluster.api.get("Order", "gateway", s.change["name"]) is not None
    real = [w for w in cluster.api.writes if w["method"] == "DELETE" and not w["dry_run"]]
    assert len(real) == 1  # refused once, never retried


@edits(STUCK)
def test_cleanup_leaves_a_recreated_object_alone(cluster):
    # Plan from the evidence, then cert-manager re-creates the CR under its stable name.
    old = cluster.api.get("CertificateRequest", "gateway", "wildcard-example-com-1")
    from edgedoctor.collect import CheckOptions, gather
    from edgedoctor.diagnosis.engine import diagnose
    from edgedoctor.kube.writer import ClusterWriter
    from edgedoctor.remedy import build_plan

    ev = gather(CheckOptions(host=HOST, kubeconfig=str(cluster.kubeconfig), offline=True, now=casekit.NOW))
    plan = build_plan("cleanup-stuck-orders", ev, diagnose(ev), read_only=False)
    fresh = {**old, "metadata": {**old["metadata"], "uid": "11111111-2222-4333-8444-555555555555"}}
    cluster.api.add(fresh)
    with ClusterWriter.from_config(str(cluster.kubeconfig)) as w:
        ex = Executor(w, audit_log=str(cluster.audit), read_only=False, evidence=ev, playbook_id=plan.playbook_id)
        s = next(x for x in plan.change_steps if x.change["kind"] == "CertificateRequest")
        r = ex.apply(s)
    assert r.ok and r.outcome == "unchanged" and "another uid" in r.message
    assert cluster.api.get("CertificateRequest", "gateway", "wildcard-example-com-1")["metadata"]["uid"] == fresh["metadata"]["uid"]
    assert cluster.changes() == []


# ---------------------------------------------------------------- the Cloudflare cleanup bug


@edits(case_edits("cert-cloudflare-7003-cleanup"))
def test_cloudflare_bug_refuses_the_cleanup_before_the_upgrade(cluster):
    r = cluster.fix("cert-manager-cloudflare-cleanup-bug", "--apply", "--yes")
    assert r.rc == 3 and cluster.changes() == []
    assert "still has the Cloudflare cleanup bug: upgrade it first (to v1.17.1 or later)" in r.err
    assert "helm upgrade cert-manager jetstack/cert-manager -n cert-manager --version v1.17.1 --reuse-values" in r.out
    dry = cluster.fix("cert-manager-cloudflare-cleanup-bug")
    assert dry.rc == 0 and "[blocked] precondition not met" in dry.out


def _upgraded() -> dict[str, Any]:
    e = case_edits("cert-cloudflare-7003-cleanup")
    e["patch"] = cert_manager_version("v1.17.1")["patch"]
    return e


@edits(_upgraded())
def test_cloudflare_bug_cleans_up_after_the_upgrade(cluster):
    r = cluster.fix("cert-manager-cloudflare-cleanup-bug", "--apply", "--yes")
    assert "upgrade: [unchanged] nothing to change: cert-manager v1.17.1 already has the fix" in r.out
    assert [m for m, _p in cluster.changes()] == ["DELETE"] * 4
    assert "_acme-challenge.example.com" in r.out  # the leaked records to delete by hand
    assert r.rc == 2


# ---------------------------------------------------------------- choices


@edits(case_edits("cert-secret-name-mismatch"))
def test_yes_applies_only_the_recommended_option(cluster):
    r = cluster.fix("fix-secret-name-mismatch", "--apply", "--yes")
    assert cluster.changes() == [("PATCH", "/apis/cert-manager.io/v1/namespaces/gateway/certificates/wildcard-example-com")]
    assert cluster.api.get("Certificate", "gateway", "wildcard-example-com")["spec"]["secretName"] == "wildcard-example-com-tls"
    assert r.rc in (0, 1, 2)


@edits(case_edits("cert-secret-name-mismatch"))
def test_declining_the_recommended_option_offers_the_other(cluster):
    r = cluster.fix("fix-secret-name-mismatch", "--apply", stdin="n\ny\n", tty=True)
    assert cluster.changes() == [("PATCH", "/apis/gateway.networking.k8s.io/v1/namespaces/gateway/gateways/external")]
    gw = cluster.api.get("Gateway", "gateway", "external")
    assert gw["spec"]["listeners"][1]["tls"]["certificateRefs"][0]["name"] == "wildcard-example-com"
    assert "Flux Kustomization flux-system/gateway-config" in r.out  # the live patch is reverted by the next sync


@edits(case_edits("proxy-protocol-mismatch"))
def test_proxy_protocol_off_on_both_sides_fixes_it(cluster):
    r = cluster.fix("proxy-protocol-both-sides", "--apply", "--yes")
    assert cluster.changes() == [("PATCH", "/apis/gateway.envoyproxy.io/v1alpha1/namespaces/gateway/clienttrafficpolicies/client-ip")]
    assert "enableProxyProtocol" not in cluster.api.get("ClientTrafficPolicy", "gateway", "client-ip")["spec"]
    assert "diagnosis: critical proxy-protocol-mismatch -> ok" in r.out and r.rc == 0


@edits(NO_REDIRECT)
def test_redirect_route_created_and_the_diagnosis_improves(cluster):
    r = cluster.fix("add-https-redirect", "--apply", "--yes")
    assert cluster.changes() == [("POST", "/apis/gateway.networking.k8s.io/v1/namespaces/gateway/httproutes")]
    assert "diagnosis: warning redirect-missing -> ok" in r.out
    assert r.rc == 0


# ---------------------------------------------------------------- rotate the Cloudflare token


@edits(case_edits("cert-cloudflare-token-permission"))
def test_rotate_token_never_shows_the_token(cluster, tmp_path, monkeypatch):
    token_file = tmp_path / "token"
    token_file.write_text(PLANTED_TOKEN + "\n")
    monkeypatch.setenv("EDGEDOCTOR_TOKEN_FILE", str(token_file))
    plan_run = cluster.fix("rotate-cloudflare-token")
    r = cluster.fix("rotate-cloudflare-token", "--apply", "--yes")
    assert r.rc in (1, 2), r.out + r.err
    b64 = base64.b64encode(PLANTED_TOKEN.encode()).decode()
    sec = cluster.api.get("Secret", "cert-manager", "cloudflare-api-token")
    assert sec["data"]["api-token"] == b64  # rotated
    dry = [w for w in cluster.api.writes if w["dry_run"] and "secrets" in w["path"]]
    assert dry and all(PLANTED_TOKEN not in json.dumps(w["body"]) and b64 not in json.dumps(w["body"]) for w in dry)
    audit = cluster.audit.read_text()
    for text in (plan_run.out, plan_run.err, r.out, r.err, audit):
        assert PLANTED_TOKEN not in text and b64 not in text
        assert PLANTED_TOKEN[8:20] not in text
    assert any(x["applied"] and x["object"] == "Secret cert-manager/cloudflare-api-token" for x in r.audit_lines)


@edits(case_edits("cert-cloudflare-token-permission"))
def test_rotate_token_without_a_token_changes_nothing(cluster):
    r = cluster.fix("rotate-cloudflare-token", "--apply", "--yes", tty=False)
    assert r.rc == 3
    assert cluster.changes() == []
    assert "EDGEDOCTOR_TOKEN_FILE" in r.err


class _LeakyWriter:
    """A writer whose answer quotes the request (as a careless webhook might)."""

    def __init__(self) -> None:
        self.calls: list[bool] = []

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any]:
        return {"kind": kind, "metadata": {"name": name, "namespace": namespace, "uid": "u1"}}

    def access_review(self, *a: Any) -> tuple[bool, str]:
        return True, "allowed"

    def patch(self, kind: str, namespace: str | None, name: str, body: Any, *, dry_run: bool, **kw: Any) -> dict[str, Any]:
        self.calls.append(dry_run)
        if not dry_run:
            raise WriteError(500, f"webhook failed on {json.dumps(body)}")
        return {"metadata": {"resourceVersion": "1"}}


def test_a_token_echoed_in_an_error_is_scrubbed(tmp_path):
    change = {"op": "patch", "kind": "Secret", "namespace": "cert-manager", "name": "cf", "patch_type": "merge",
              "body": {"data": {"api-token": "<read when applying: never shown or logged>"}},
              "secret": {"path": ["data", "api-token"], "encoding": "base64"}, "uid": "u1",
              "access": [{"verb": "patch", "group": "", "resource": "secrets", "namespace": "cert-manager", "name": "cf"}]}
    step = StepPlan(id="write-token", kind="change", title="t", explain="", command="", change=change,
                    secret_input="the token")
    audit = tmp_path / "audit.log"
    ex = Executor(_LeakyWriter(), audit_log=str(audit), read_only=False, secret_provider=lambda s: PLANTED_TOKEN)
    r = ex.apply(step)
    assert not r.ok and r.outcome == "failed" and "<redacted>" in r.message
    b64 = base64.b64encode(PLANTED_TOKEN.encode()).decode()
    assert b64 not in r.message and PLANTED_TOKEN not in audit.read_text() and b64 not in audit.read_text()


# ---------------------------------------------------------------- read-only evidence and bad input


def test_snapshot_mode_refuses_apply(tmp_path, capsys):
    snap = snapshot(tmp_path, EXPIRED)
    audit = tmp_path / "audit.log"
    rc = main(["fix", "force-renew", HOST, "--snapshot", str(snap), "--now", casekit.NOW, "--offline",
               "--audit-log", str(audit), "--apply", "--yes"])
    cap = capsys.readouterr()
    assert rc == 3 and "refused" in cap.err
    assert "set-issuing: refused: read-only evidence" in cap.out
    lines = [json.loads(x) for x in audit.read_text().splitlines()]
    assert lines and all(x["result"] == "refused" and not x["applied"] for x in lines)
    rc = main(["fix", "force-renew", HOST, "--snapshot", str(snap), "--now", casekit.NOW, "--offline"])
    cap = capsys.readouterr()
    assert rc == 0 and "cmctl renew -n gateway wildcard-example-com" in cap.out and "No change was made" in cap.out


def test_replay_of_a_live_check_refuses_apply(tmp_path, capsys):
    from edgedoctor.recording import write_recording
    from tests.test_playbooks_plan import evidence

    ev = evidence(tmp_path, EXPIRED)
    ev.source = {"kind": "live", "context": "prod"}  # recorded live: the replay must still change nothing
    rec = tmp_path / "rec.yaml"
    write_recording(rec, ev)
    rc = main(["fix", "force-renew", HOST, "--replay", str(rec), "--apply", "--yes", "--audit-log", str(tmp_path / "a.log")])
    cap = capsys.readouterr()
    assert rc == 3 and "--apply needs a live cluster" in cap.err
    assert "Mode: read-only evidence" in cap.out and "set-issuing: refused" in cap.out


@pytest.mark.parametrize("argv,needle", [
    (["fix"], "give a playbook"),
    (["fix", "no-such-playbook", HOST], "unknown playbook 'no-such-playbook'"),
    (["fix", "force-renew"], "give the HOST"),
    (["fix", "force-renew", "https://bad host/"], ""),
    (["fix", "rotate-cloudflare-token", HOST],
     "playbook rotate-cloudflare-token fixes cert-cloudflare-token-permission; the diagnosis of app.example.com shows ok"),
    (["fix", "cleanup-stuck-orders", HOST], "cleanup-stuck-orders"),
])
def test_bad_input_is_one_line(tmp_path, capsys, argv, needle):
    snap = snapshot(tmp_path)
    rc = main([*argv, "--snapshot", str(snap), "--now", casekit.NOW, "--offline"] if len(argv) > 1 else argv)
    cap = capsys.readouterr()
    assert rc == 3
    assert len(cap.err.strip().splitlines()) == 1 and cap.err.startswith("edgedoctor: ")
    assert needle in cap.err and "Traceback" not in cap.err + cap.out


def test_a_fix_already_in_place_says_so(tmp_path, capsys):
    # The healthy base has its redirect route: nothing to do, and that is no error.
    rc = main(["fix", "add-https-redirect", HOST, "--snapshot", str(snapshot(tmp_path)), "--now", casekit.NOW, "--offline"])
    out = capsys.readouterr().out
    assert rc == 0 and "nothing to change: what this playbook would do is already in place" in out
    assert "HTTPRoute gateway/https-redirect already redirects listener http to https" in out


def test_list(capsys):
    assert main(["fix", "--list"]) == 0
    out = capsys.readouterr().out
    for pid in ("force-renew", "cleanup-stuck-orders", "rotate-cloudflare-token", "restart-data-plane"):
        assert pid in out
    assert "fixes: cert-order-stuck" in out
