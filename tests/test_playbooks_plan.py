"""Playbook plans on snapshot scenarios (casekit base + edits): the right objects,
fields and commands, and nothing run in snapshot mode."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgedoctor import catalog
from edgedoctor.diagnosis.engine import diagnose
from edgedoctor.evidence import Evidence
from edgedoctor.remedy import (
    Executor,
    NotApplicable,
    UnknownPlaybook,
    available_playbooks,
    build_plan,
    playbooks_for,
)
from edgedoctor.remedy import steps as S
from edgedoctor.remedy.plan import Plan, StepPlan, load_playbook
from edgedoctor.snapshot import load_snapshot
from tests import casekit

HOST = "app.example.com"
PLAYBOOK_IDS = [
    "force-renew", "cleanup-stuck-orders", "cert-manager-cloudflare-cleanup-bug", "upgrade-cert-manager",
    "switch-to-production-issuer", "fix-secret-name-mismatch", "create-reference-grant", "add-https-redirect",
    "proxy-protocol-both-sides", "external-dns-watch-httproute", "k8s-gateway-watch-httproute",
    "rotate-cloudflare-token", "restart-data-plane",
]
CASES = {c["name"]: c for c in casekit.load_cases()}
CF_7003 = CASES["cert-cloudflare-7003-cleanup"]["broken"]["stuck_issuance"]["challenge_reason"]


# ---------------------------------------------------------------- scenario helpers (shared with test_fix_runner)


def case_edits(name: str) -> dict[str, Any]:
    return copy.deepcopy(CASES[name].get("broken") or {})


def objects(edits: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return casekit.apply_edits(casekit.base_objects(), casekit.expand(edits or {}))


def combine(*edits: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for e in edits:
        for k, v in e.items():
            if k == "stuck_issuance":
                out[k] = v
            else:
                out.setdefault(k, []).extend(copy.deepcopy(v))
    return out


def deployment_image(name: str, ns: str, container: str, image: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    merge: dict[str, Any] = {"spec": {"template": {"spec": {"containers": [{"name": container, "image": image}]}}}}
    if labels:
        merge["metadata"] = {"labels": labels}
    return {"kind": "Deployment", "namespace": ns, "name": name, "merge": merge}


def cert_manager_version(version: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    p = deployment_image("cert-manager", "cert-manager", "cert-manager-controller",
                         f"quay.io/jetstack/cert-manager-controller:{version}", labels)
    # The controller's args must stay: merge replaces lists, so restate them.
    p["merge"]["spec"]["template"]["spec"]["containers"][0]["args"] = [
        "--v=2", "--cluster-resource-namespace=$(POD_NAMESPACE)", "--max-concurrent-challenges=60"]
    return {"patch": [p]}


CM_DOWN = {"patch": [{"kind": "Deployment", "namespace": "cert-manager", "name": "cert-manager",
                      "merge": {"spec": {"replicas": 0}, "status": {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0,
                                "conditions": [{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"}]}}}]}


def second_stuck_chain(name: str = "shop-example-com", ns: str = "gateway", created: str = "2026-12-01T22:00:00Z") -> dict[str, Any]:
    """Another Certificate in the same namespace with its own stuck CR -> Order -> Challenges."""
    cert_uid, cr_uid, order_uid = (f"7a000000-0000-4000-8000-0000000000{s}" for s in ("c1", "d1", "e1"))
    issuer = {"name": "letsencrypt-prod", "kind": "ClusterIssuer", "group": "cert-manager.io"}
    order_name = f"{name}-1-998877"
    objs: list[dict[str, Any]] = [
        {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
         "metadata": {"name": name, "namespace": ns, "uid": cert_uid, "generation": 1, "creationTimestamp": created},
         "spec": {"secretName": f"{name}-tls", "dnsNames": ["shop.example.com"], "issuerRef": issuer},
         "status": {"conditions": [
             {"type": "Ready", "status": "False", "reason": "DoesNotExist", "message": "Issuing certificate as Secret does not exist"},
             {"type": "Issuing", "status": "True", "reason": "DoesNotExist", "message": "Issuing certificate as Secret does not exist"}]}},
        {"apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest",
         "metadata": {"name": f"{name}-1", "namespace": ns, "uid": cr_uid, "creationTimestamp": created,
                      "annotations": {"cert-manager.io/certificate-name": name, "cert-manager.io/certificate-revision": "1"},
                      "ownerReferences": [{"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "name": name,
                                           "uid": cert_uid, "controller": True}]},
         "spec": {"issuerRef": issuer},
         "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Pending", "message": "Waiting on certificate issuance"}]}},
        {"apiVersion": "acme.cert-manager.io/v1", "kind": "Order",
         "metadata": {"name": order_name, "namespace": ns, "uid": order_uid, "creationTimestamp": created,
                      "annotations": {"cert-manager.io/certificate-name": name},
                      "ownerReferences": [{"apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest", "name": f"{name}-1",
                                           "uid": cr_uid, "controller": True}]},
         "spec": {"dnsNames": ["shop.example.com"], "issuerRef": issuer},
         "status": {"state": "pending"}},
    ]
    for i in range(2):
        objs.append({
            "apiVersion": "acme.cert-manager.io/v1", "kind": "Challenge",
            "metadata": {"name": f"{order_name}-{i}", "namespace": ns, "uid": f"7a000000-0000-4000-8000-00000000cc0{i}",
                         "creationTimestamp": created, "finalizers": ["acme.cert-manager.io/finalizer"],
                         "ownerReferences": [{"apiVersion": "acme.cert-manager.io/v1", "kind": "Order", "name": order_name,
                                              "uid": order_uid, "controller": True}]},
            "spec": {"dnsName": "shop.example.com", "type": "DNS-01", "key": f"otherTxt{i}", "wildcard": False,
                     "issuerRef": issuer,
                     "solver": {"dns01": {"cloudflare": {"apiTokenSecretRef": {"name": "cloudflare-api-token", "key": "api-token"}}}}},
            "status": {"state": "pending", "processing": True, "presented": True},
        })
    return {"set": objs}


ENVOY_DEPLOYMENT = {"set": [{
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "envoy-gateway-external-3b2a9c1d", "namespace": "envoy-gateway-system",
                 "labels": {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/managed-by": "envoy-gateway",
                            "gateway.envoyproxy.io/owning-gateway-name": "external",
                            "gateway.envoyproxy.io/owning-gateway-namespace": "gateway"}},
    "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app.kubernetes.io/name": "envoy"}},
                                         "spec": {"containers": [{"name": "envoy", "image": "docker.io/envoyproxy/envoy:distroless-v1.32.1"}]}}},
    "status": {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2,
               "conditions": [{"type": "Available", "status": "True"}]},
}]}

NO_REDIRECT = {"delete": [{"kind": "HTTPRoute", "namespace": "gateway", "name": "https-redirect"}]}


def snapshot(tmp_path: Path, edits: dict[str, Any] | None = None, name: str = "snap") -> Path:
    return casekit.write_snapshot(objects(edits), tmp_path / f"{name}.yaml")


def evidence(tmp_path: Path, edits: dict[str, Any] | None = None, *, host: str = HOST, now: str = casekit.NOW,
             tls: list[dict[str, Any]] | None = None) -> Evidence:
    snap = snapshot(tmp_path, edits)
    return Evidence(host=host, now=now, source={"kind": "snapshot"}, cluster=load_snapshot([snap]), tls=tls)


def plan_for(tmp_path: Path, playbook: str, edits: dict[str, Any] | None = None, **kw: Any) -> Plan:
    ev = evidence(tmp_path, edits, **kw)
    return build_plan(playbook, ev, diagnose(ev))


def step(plan: Plan, prefix: str) -> StepPlan:
    hits = [s for s in plan.steps if s.id == prefix or s.id.startswith(prefix + "-")]
    assert hits, f"no step {prefix} in {[s.id for s in plan.steps]}"
    return hits[0]


def steps(plan: Plan, prefix: str) -> list[StepPlan]:
    return [s for s in plan.steps if s.id == prefix or s.id.startswith(prefix + "-")]


def targets(plan: Plan, op: str | None = None) -> list[tuple[str, str | None, str]]:
    return [(s.change["kind"], s.change.get("namespace"), s.change["name"]) for s in plan.change_steps
            if s.change and (op is None or s.change["op"] == op) and not s.satisfied]


def cert_pem(name: str) -> str:
    return base64.b64decode((casekit.CERTS / f"{name}.b64").read_text().strip()).decode()


# ---------------------------------------------------------------- the data files


def test_the_thirteen_playbooks_exist_and_match_the_catalog():
    ids = [p["id"] for p in available_playbooks()]
    assert sorted(ids) == sorted(PLAYBOOK_IDS)
    referenced = {p for e in catalog.all_entries() for p in e.get("playbooks") or []}
    assert referenced <= set(ids), referenced - set(ids)
    codes = set(catalog.all_codes())
    for p in available_playbooks():
        assert p["fixes"] and set(p["fixes"]) <= codes, p
        assert p["title"] and p["summary"]
    assert set(playbooks_for("cert-order-stuck")) == {"cleanup-stuck-orders", "force-renew"}


@pytest.mark.parametrize("pid", PLAYBOOK_IDS)
def test_playbook_file_format(pid):
    doc = yaml.safe_load((Path(__file__).resolve().parents[1] / "playbooks" / f"{pid}.yaml").read_text())
    assert doc["id"] == pid
    assert list(doc)[:4] == ["id", "title", "fixes", *(["requires_finding"] if "requires_finding" in doc else
                                                        ["applies_when"] if "applies_when" in doc else ["summary"])]
    ids = [s["id"] for s in doc["steps"]]
    assert len(ids) == len(set(ids))
    kinds = {s["kind"] for s in doc["steps"]}
    assert kinds <= {"read", "change"} and "change" in kinds
    for s in doc["steps"]:
        if s["kind"] == "change":
            assert s["action"] in S.ACTIONS, s
        else:
            assert s["check"] in S.READ_TARGETS, s
        if s.get("verify"):
            assert s["verify"] in S.READS
        if s.get("precondition"):
            assert s["precondition"] in S.PRECONDITIONS and s["precondition"] in S.READS
        # YAML 1.1 turns a bare on/off into a boolean: options and parameters must be strings.
        assert not isinstance(s.get("option"), bool)
        assert not any(isinstance(v, bool) and k == "want" for k, v in (s.get("with") or {}).items())


def test_unknown_playbook_and_path_tricks():
    for bad in ("nope", "../checks/cert-expired", "", ".hidden"):
        with pytest.raises(UnknownPlaybook):
            load_playbook(bad)


# ---------------------------------------------------------------- force-renew


def test_force_renew_sets_issuing_as_cmctl(tmp_path):
    plan = plan_for(tmp_path, "force-renew", case_edits("cert-expired"))
    assert plan.addresses == ["cert-expired"] and plan.read_only
    s = step(plan, "set-issuing")
    assert s.change["op"] == "update-status" and s.change["subresource"] == "status"
    assert (s.change["kind"], s.change["namespace"], s.change["name"]) == ("Certificate", "gateway", "wildcard-example-com")
    assert s.change["body"] == {"conditions": [{"type": "Issuing", "status": "True", "reason": "ManuallyTriggered",
                                                "message": "Certificate re-issuance manually triggered"}]}
    assert {"verb": "update", "group": "cert-manager.io", "resource": "certificates", "subresource": "status",
            "namespace": "gateway", "name": "wildcard-example-com"} in s.change["access"]
    assert s.command == "cmctl renew -n gateway wildcard-example-com"
    assert s.satisfied is None and s.blocked  # snapshot: shown, not run
    # Issuing is not True: renew is enough, the escalation steps are not offered.
    assert [x.id for x in plan.change_steps] == ["set-issuing"]


def test_force_renew_when_already_issuing_offers_order_then_request(tmp_path):
    plan = plan_for(tmp_path, "force-renew", case_edits("cert-order-stuck"))
    s = step(plan, "set-issuing")
    assert s.satisfied and "does nothing while an issuance is in progress" in s.satisfied
    assert any("renew does nothing" in n and "Order" in n and "CertificateRequest" in n for n in plan.notes)
    deletes = [(x.id, x.change["kind"], x.change["name"]) for x in plan.change_steps if x.change["op"] == "delete"]
    assert deletes == [("delete-order", "Order", "wildcard-example-com-1-2264498345"),
                       ("delete-request", "CertificateRequest", "wildcard-example-com-1")]
    assert step(plan, "delete-order").command == "kubectl -n gateway delete order wildcard-example-com-1-2264498345"


def test_force_renew_leaves_a_young_issuance_alone(tmp_path):
    plan = plan_for(tmp_path, "force-renew", {"stuck_issuance": {"created": "2026-12-02T02:50:00Z"}})
    assert [x.id for x in plan.change_steps] == ["set-issuing"]
    assert step(plan, "set-issuing").satisfied
    assert any("issuance in progress" in n for n in plan.notes)


def test_force_renew_on_a_healthy_certificate_runs_on_request(tmp_path):
    plan = plan_for(tmp_path, "force-renew")
    assert plan.addresses == [] and any("does not call for it" in n for n in plan.notes)
    assert step(plan, "set-issuing").change["op"] == "update-status"


# ---------------------------------------------------------------- cleanup-stuck-orders


def test_cleanup_deletes_only_the_named_certificates_chain_order_first(tmp_path):
    edits = combine({"stuck_issuance": {"created": "2026-12-01T22:00:00Z"}}, second_stuck_chain())
    plan = plan_for(tmp_path, "cleanup-stuck-orders", edits)
    got = targets(plan, "delete")
    assert got == [
        ("Order", "gateway", "wildcard-example-com-1-2264498345"),
        ("Challenge", "gateway", "wildcard-example-com-1-2264498345-1850000000"),
        ("Challenge", "gateway", "wildcard-example-com-1-2264498345-1850000001"),
        ("CertificateRequest", "gateway", "wildcard-example-com-1"),
    ]
    assert not any("shop-example-com" in json.dumps(s.to_dict()) for s in plan.change_steps)
    # Deletes name the uid they are for: a re-created object of the same name is another one.
    assert step(plan, "delete-request").change["uid"] == "3e4f5a6b-0000-4000-8000-00000000aa01"
    # The controller runs: no finalizer is touched and no TXT list is needed.
    assert not steps(plan, "remove-finalizers") and not steps(plan, "leaked-txt")
    assert any("finalizers are left alone" in n for n in plan.notes)


def test_cleanup_removes_finalizers_when_the_controller_is_down_and_lists_txt(tmp_path):
    edits = combine({"stuck_issuance": {"created": "2026-12-01T22:00:00Z"}}, CM_DOWN)
    plan = plan_for(tmp_path, "cleanup-stuck-orders", edits)
    fin = steps(plan, "remove-finalizers")
    assert [s.change["name"] for s in fin] == ["wildcard-example-com-1-2264498345-1850000000",
                                               "wildcard-example-com-1-2264498345-1850000001"]
    assert all(s.change["body"] == {"metadata": {"finalizers": None}} and s.change["patch_type"] == "merge" for s in fin)
    assert "finalizers" in fin[0].command and "--type=merge" in fin[0].command
    txt = step(plan, "leaked-txt")
    assert txt.kind == "read" and txt.command.startswith("dig ")
    assert "_acme-challenge.example.com TXT +short" in txt.command.splitlines()[0]
    assert "api.cloudflare.com/client/v4/zones" in txt.command and "Cloudflare dashboard" in txt.explain
    assert "fakeTxtValue0" in txt.explain
    ids = [s.id for s in plan.steps]
    assert ids.index("delete-order") < ids.index(fin[0].id) < ids.index("leaked-txt") < ids.index("delete-request")


def test_cleanup_finalizers_when_a_deleted_challenge_cleanup_keeps_failing(tmp_path):
    edits = {"stuck_issuance": {"created": "2026-12-01T22:00:00Z", "challenge_state": "valid",
                                "challenge_reason": "Error cleaning up challenge: Found no Zones for domain _acme-challenge.example.com.",
                                "second_reason": ""},
             "patch": [{"kind": "Challenge", "namespace": "gateway", "name": "wildcard-example-com-1-2264498345-1850000000",
                        "merge": {"metadata": {"deletionTimestamp": "2026-12-02T01:00:00Z"}}},
                       *cert_manager_version("v1.20.0")["patch"]]}
    plan = plan_for(tmp_path, "cleanup-stuck-orders", edits)
    fin = steps(plan, "remove-finalizers")
    assert [s.change["name"] for s in fin] == ["wildcard-example-com-1-2264498345-1850000000"]
    assert "cleanup keeps failing" in fin[0].explain
    assert "_acme-challenge.example.com" in step(plan, "leaked-txt").explain


def test_cleanup_leaves_an_issuance_in_progress_alone(tmp_path):
    with pytest.raises(NotApplicable, match="nothing to clean up|does not call|fixes"):
        plan_for(tmp_path, "cleanup-stuck-orders", {"stuck_issuance": {"created": "2026-12-02T02:50:00Z"}})


# ---------------------------------------------------------------- cert-manager Cloudflare bug


@pytest.mark.parametrize("version,target", [("v1.17.0", "v1.17.1"), ("v1.16.2", "v1.16.4"), ("v1.15.3", "v1.18.0"),
                                            ("v1.12.10", "v1.12.16"), ("v1.14.0", "v1.18.0")])
def test_cloudflare_bug_upgrade_target(tmp_path, version, target):
    edits = case_edits("cert-cloudflare-7003-cleanup")
    edits["patch"] = cert_manager_version(version)["patch"]
    plan = plan_for(tmp_path, "cert-manager-cloudflare-cleanup-bug", edits)
    up = step(plan, "upgrade")
    assert up.change["op"] == "manual" and up.blocked and "does not make it live" in up.blocked
    assert up.change["body"]["chart_version"] == target
    assert f"helm upgrade cert-manager jetstack/cert-manager -n cert-manager --version {target} --reuse-values" in up.command
    assert up.title.endswith(f"{target} (Helm/GitOps change)")
    # Cleanup, re-trigger, verify follow, each refusing to run before the upgrade.
    order = [s.id.split("-")[0] for s in plan.steps]
    assert [s.check or s.action for s in plan.steps][-1] == "rediagnose"
    assert order.index("upgrade") < [s.id for s in plan.steps].index("delete-order")
    for s in plan.change_steps:
        if s.id != "upgrade" and not s.satisfied:
            assert s.precondition == "cert-manager-fixed" and s.change["requires"][0]["kind"] == "Deployment"
    txt = step(plan, "leaked-txt")
    assert "_acme-challenge.example.com" in txt.explain


def test_cloudflare_bug_through_flux_and_argo(tmp_path):
    edits = case_edits("cert-cloudflare-7003-cleanup")
    edits["patch"] = cert_manager_version("v1.17.0", {"helm.toolkit.fluxcd.io/name": "cert-manager",
                                                      "helm.toolkit.fluxcd.io/namespace": "flux-system"})["patch"]
    up = step(plan_for(tmp_path, "cert-manager-cloudflare-cleanup-bug", edits), "upgrade")
    snip = yaml.safe_load(up.git_snippet)
    assert snip["kind"] == "HelmRelease" and snip["metadata"] == {"name": "cert-manager", "namespace": "flux-system"}
    assert snip["spec"]["chart"]["spec"]["version"] == "v1.17.1"
    assert "Flux HelmRelease flux-system/cert-manager" in up.gitops
    edits["patch"] = cert_manager_version("v1.17.0", {"argocd.argoproj.io/instance": "cert-manager"})["patch"]
    up = step(plan_for(tmp_path, "cert-manager-cloudflare-cleanup-bug", edits), "upgrade")
    assert yaml.safe_load(up.git_snippet)["spec"]["source"]["targetRevision"] == "v1.17.1"
    assert "Argo CD Application cert-manager" in up.gitops


def test_cloudflare_bug_after_the_upgrade_cleans_up(tmp_path):
    # v1.16.4 has the fix: the diagnosis blames no bug, but the stale Challenge is still there.
    edits = case_edits("cert-cloudflare-7003-cleanup")
    edits["patch"] = cert_manager_version("v1.16.4")["patch"]
    plan = plan_for(tmp_path, "cert-manager-cloudflare-cleanup-bug", edits)
    assert "cert-cloudflare-7003-cleanup" not in plan.addresses
    assert step(plan, "upgrade").satisfied == "cert-manager v1.16.4 already has the fix"
    assert ("Order", "gateway", "wildcard-example-com-1-2264498345") in targets(plan, "delete")


# ---------------------------------------------------------------- upgrade-cert-manager


def test_upgrade_cert_manager_from_v1160(tmp_path):
    plan = plan_for(tmp_path, "upgrade-cert-manager", case_edits("cert-manager-v1160-issuer-namespace"))
    up = step(plan, "upgrade")
    assert up.change["body"]["image"] == "quay.io/jetstack/cert-manager-controller:v1.16.4"
    assert "Helm release cert-manager" in up.gitops and "--version v1.16.4" in up.command


# ---------------------------------------------------------------- switch-to-production-issuer


def test_switch_to_production_issuer(tmp_path):
    plan = plan_for(tmp_path, "switch-to-production-issuer", case_edits("cert-staging-issuer"))
    sw = step(plan, "switch-issuer")
    assert sw.change["op"] == "patch" and sw.change["kind"] == "Certificate"
    assert sw.change["body"] == {"spec": {"issuerRef": {"name": "letsencrypt-prod", "kind": "ClusterIssuer",
                                                         "group": "cert-manager.io"}}}
    assert "spec.issuerRef.name" in sw.change["fields"]
    assert "--type=merge" in sw.command and "letsencrypt-prod" in sw.command
    de = step(plan, "delete-secret")
    assert (de.change["op"], de.change["kind"], de.change["name"]) == ("delete", "Secret", "wildcard-example-com-tls")
    assert de.satisfied is None


def test_switch_needs_a_production_twin_with_the_same_solver(tmp_path):
    edits = case_edits("cert-staging-issuer")
    edits["patch"].append({"kind": "ClusterIssuer", "name": "letsencrypt-prod", "merge": {"spec": {"acme": {"solvers": [
        {"http01": {"gatewayHTTPRoute": {"parentRefs": [{"name": "external", "namespace": "gateway"}]}}}]}}}})
    sw = step(plan_for(tmp_path, "switch-to-production-issuer", edits), "switch-issuer")
    assert sw.blocked and "no production ClusterIssuer with the same solvers" in sw.blocked
    twin = yaml.safe_load(sw.git_snippet)
    assert twin["spec"]["acme"]["server"] == "https://acme-v02.api.letsencrypt.org/directory"
    assert twin["spec"]["acme"]["solvers"][0]["dns01"]["cloudflare"]


def test_switch_through_gateway_shim_annotation(tmp_path):
    edits = case_edits("cert-staging-issuer")
    edits["patch"].append({"kind": "Certificate", "namespace": "gateway", "name": "wildcard-example-com", "merge": {
        "metadata": {"ownerReferences": [{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                                          "name": "external", "uid": "6f1e2d3c-4b5a-4978-8877-665544332211", "controller": True}]}}})
    sw = step(plan_for(tmp_path, "switch-to-production-issuer", edits), "switch-issuer")
    assert sw.change["kind"] == "Gateway"
    assert sw.change["body"] == {"metadata": {"annotations": {"cert-manager.io/cluster-issuer": "letsencrypt-prod"}}}
    assert "Flux Kustomization flux-system/gateway-config" in sw.gitops


# ---------------------------------------------------------------- fix-secret-name-mismatch


def test_secret_name_mismatch_offers_both_and_recommends_no_new_issuance(tmp_path):
    plan = plan_for(tmp_path, "fix-secret-name-mismatch", case_edits("cert-secret-name-mismatch"))
    opts = {s.option: s for s in plan.change_steps}
    assert set(opts) == {"listener", "certificate"} and {s.choice for s in opts.values()} == {"secret-name"}
    # No Secret exists under either name: renaming the Certificate's Secret is recommended.
    assert opts["certificate"].recommended and not opts["listener"].recommended
    assert plan.change_steps[0].option == "certificate"
    assert opts["certificate"].change["body"] == {"spec": {"secretName": "wildcard-example-com-tls"}}
    gw = opts["listener"].change
    assert gw["kind"] == "Gateway" and gw["patch_type"] == "json"
    assert {"op": "replace", "path": "/spec/listeners/1/tls/certificateRefs/0/name", "value": "wildcard-example-com"} in gw["body"]
    assert {"op": "test", "path": "/spec/listeners/1/name", "value": "https"} in gw["body"]
    assert "Flux Kustomization flux-system/gateway-config" in opts["listener"].gitops
    snip = yaml.safe_load(opts["listener"].git_snippet)
    assert snip["spec"]["listeners"][0]["tls"]["certificateRefs"][0]["name"] == "wildcard-example-com"

    # With the Certificate's Secret in place, pointing the listener at it needs no issuance.
    edits = case_edits("cert-secret-name-mismatch")
    base_secret = next(o for o in casekit.base_objects() if o["kind"] == "Secret" and o["metadata"]["name"] == "wildcard-example-com-tls")
    moved = copy.deepcopy(base_secret)
    moved["metadata"]["name"] = "wildcard-example-com"
    edits["set"] = [moved]
    plan = plan_for(tmp_path, "fix-secret-name-mismatch", edits)
    assert plan.change_steps[0].option == "listener" and plan.change_steps[0].recommended
    assert "no new issuance" in plan.change_steps[0].explain


# ---------------------------------------------------------------- create-reference-grant


def test_reference_grant_gateway_to_secret(tmp_path):
    plan = plan_for(tmp_path, "create-reference-grant", case_edits("cert-refgrant-missing"))
    s = step(plan, "create-grant")
    assert (s.change["op"], s.change["kind"], s.change["namespace"]) == ("create", "ReferenceGrant", "certs")
    assert s.change["body"]["spec"] == {
        "from": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "gateway"}],
        "to": [{"group": "", "kind": "Secret", "name": "wildcard-example-com-tls"}]}
    assert s.command.startswith("kubectl apply -f - <<'EOF'") and "kind: ReferenceGrant" in s.command
    assert "apiVersion" not in s.change["body"]  # the writer picks the served version


def test_reference_grant_route_to_service(tmp_path):
    plan = plan_for(tmp_path, "create-reference-grant", case_edits("route-backend-cross-namespace"))
    s = step(plan, "create-grant")
    assert s.change["namespace"] == "backend"
    assert s.change["body"]["spec"]["from"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "shop"}]
    assert s.change["body"]["spec"]["to"] == [{"group": "", "kind": "Service", "name": "api"}]
    assert "Argo CD Application shop" in s.gitops  # the route is Argo-managed: commit the grant beside it


def test_reference_grant_already_in_place_and_not_applicable(tmp_path):
    edits = case_edits("cert-refgrant-missing")
    edits["set"].append({"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
                         "metadata": {"name": "ok", "namespace": "certs"},
                         "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "gateway"}],
                                  "to": [{"group": "", "kind": "Secret"}]}})
    plan = plan_for(tmp_path, "create-reference-grant", edits)
    assert step(plan, "create-grant").satisfied and plan.nothing_to_change
    with pytest.raises(NotApplicable, match="fixes cert-refgrant-missing, route-backend-unresolved"):
        plan_for(tmp_path, "create-reference-grant")


def test_route_backend_missing_service_is_not_a_grant_problem(tmp_path):
    with pytest.raises(NotApplicable, match="crosses namespaces|nothing to change"):
        plan_for(tmp_path, "create-reference-grant", case_edits("route-backend-unresolved"))


# ---------------------------------------------------------------- add-https-redirect


def test_https_redirect_route(tmp_path):
    plan = plan_for(tmp_path, "add-https-redirect", NO_REDIRECT)
    assert plan.addresses == ["redirect-missing"]
    s = step(plan, "create-redirect")
    assert (s.change["kind"], s.change["namespace"], s.change["name"]) == ("HTTPRoute", "gateway", "https-redirect")
    body = s.change["body"]["spec"]
    assert body["parentRefs"] == [{"name": "external", "sectionName": "http"}]
    assert body["rules"] == [{"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}]
    assert not steps(plan, "add-listener") and not steps(plan, "pin-route")
    assert "Flux Kustomization" in s.gitops


def test_https_redirect_adds_the_http_listener_when_missing(tmp_path):
    edits = combine(NO_REDIRECT, {"patch": [{"kind": "Gateway", "namespace": "gateway", "name": "external", "merge": {"spec": {"listeners": [
        {"name": "https", "protocol": "HTTPS", "port": 443, "hostname": "*.example.com", "allowedRoutes": {"namespaces": {"from": "All"}},
         "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "group": "", "name": "wildcard-example-com-tls"}]}}]}}}]})
    plan = plan_for(tmp_path, "add-https-redirect", edits)
    add = step(plan, "add-listener")
    assert add.change["body"] == [{"op": "add", "path": "/spec/listeners/-", "value": {
        "name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": {"namespaces": {"from": "Same"}}, "hostname": "*.example.com"}}]
    assert step(plan, "create-redirect").change["body"]["spec"]["parentRefs"][0]["sectionName"] == "http"


# ---------------------------------------------------------------- proxy-protocol-both-sides


def test_proxy_protocol_envoy_only_recommends_off(tmp_path):
    plan = plan_for(tmp_path, "proxy-protocol-both-sides", case_edits("proxy-protocol-mismatch"))
    rec = [s for s in plan.change_steps if s.recommended]
    assert {s.option for s in rec} == {"off"} and plan.change_steps[0].option == "off"
    off = step(plan, "envoy-off")
    assert off.change["body"] == {"spec": {"enableProxyProtocol": None}} and off.change["name"] == "client-ip"
    assert step(plan, "lb-off").satisfied
    assert step(plan, "envoy-on").satisfied
    lb_on = step(plan, "lb-on")
    assert lb_on.blocked and "provider is not known" in lb_on.blocked


def test_proxy_protocol_lb_only_recommends_on_and_knows_aws(tmp_path):
    plan = plan_for(tmp_path, "proxy-protocol-both-sides", case_edits("proxy-protocol-lb-only"))
    on = step(plan, "envoy-on")
    assert on.recommended and on.change["kind"] == "ClientTrafficPolicy" and on.change["name"] == "keepalive"
    assert on.change["body"] == {"spec": {"enableProxyProtocol": True}}
    off = step(plan, "lb-off")
    assert not off.recommended and off.change["kind"] == "EnvoyProxy"
    assert off.change["body"]["spec"]["provider"]["kubernetes"]["envoyService"]["annotations"] == {
        "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol": None}


def test_proxy_protocol_on_both_creates_envoyproxy_for_a_known_provider(tmp_path):
    edits = case_edits("proxy-protocol-mismatch")
    edits["patch"] = [{"kind": "Service", "namespace": "envoy-gateway-system", "name": "envoy-gateway-external-3b2a9c1d",
                       "merge": {"metadata": {"annotations": {"load-balancer.hetzner.cloud/location": "fsn1"}}}}]
    plan = plan_for(tmp_path, "proxy-protocol-both-sides", edits)
    on = steps(plan, "lb-on")
    assert [(s.change["op"], s.change["kind"]) for s in on] == [("create", "EnvoyProxy"), ("patch", "Gateway")]
    assert on[0].change["body"]["spec"]["provider"]["kubernetes"]["envoyService"]["annotations"] == {
        "load-balancer.hetzner.cloud/uses-proxyprotocol": "true"}
    assert on[1].change["body"]["spec"]["infrastructure"]["parametersRef"]["name"] == on[0].change["name"]


# ---------------------------------------------------------------- external-dns / k8s_gateway


def test_external_dns_gets_the_httproute_source(tmp_path):
    plan = plan_for(tmp_path, "external-dns-watch-httproute", case_edits("dns-no-record-source"))
    s = step(plan, "add-source")
    assert s.change["kind"] == "Deployment" and s.change["patch_type"] == "json"
    assert s.change["body"] == [
        {"op": "test", "path": "/spec/template/spec/containers/0/name", "value": "external-dns"},
        {"op": "add", "path": "/spec/template/spec/containers/0/args/-", "value": "--source=gateway-httproute"}]
    assert "Helm release external-dns" in s.gitops
    assert yaml.safe_load(s.git_snippet.split("\n", 1)[1]) == {"sources": ["service", "ingress", "gateway-httproute"]}
    assert "kubectl -n external-dns get deploy external-dns" in step(plan, "read-sources").command


def test_external_dns_with_another_blocker_is_not_this_playbook(tmp_path):
    with pytest.raises(NotApplicable):
        plan_for(tmp_path, "external-dns-watch-httproute", case_edits("dns-no-record-domain-filter"))


def test_k8s_gateway_resources_line(tmp_path):
    edits = case_edits("dns-internal-split-horizon")
    plan = plan_for(tmp_path, "k8s-gateway-watch-httproute", edits)
    s = step(plan, "add-resource")
    ops = s.change["body"]
    assert ops[0]["op"] == "test" and ops[1]["op"] == "replace" and ops[1]["path"] == "/data/Corefile"
    assert "        resources Ingress Service HTTPRoute\n        apex k8s-gateway.kube-system" in ops[1]["value"]
    assert not steps(plan, "restart")  # the Corefile has `reload`
    # Without reload, a restart of k8s_gateway follows.
    cm = edits["set"][1]
    cm["data"]["Corefile"] = cm["data"]["Corefile"].replace("    reload\n", "").replace("ttl 300", "resources Service\n        ttl 300")
    plan = plan_for(tmp_path, "k8s-gateway-watch-httproute", edits)
    assert "resources Service HTTPRoute" in step(plan, "add-resource").change["body"][1]["value"]
    r = step(plan, "restart")
    assert r.change["name"] == "k8s-gateway" and r.command == "kubectl -n kube-system rollout restart deployment/k8s-gateway"


# ---------------------------------------------------------------- rotate-cloudflare-token


def test_rotate_token_plans_the_issuers_secret_without_a_value(tmp_path):
    plan = plan_for(tmp_path, "rotate-cloudflare-token", case_edits("cert-cloudflare-token-permission"))
    s = step(plan, "write-token")
    assert (s.change["kind"], s.change["namespace"], s.change["name"]) == ("Secret", "cert-manager", "cloudflare-api-token")
    assert s.change["secret"] == {"path": ["data", "api-token"], "encoding": "base64"}
    assert s.secret_input and "Zone:Read and DNS:Edit" in s.secret_input
    text = json.dumps(plan.to_dict())
    planted = base64.b64decode("ZmFrZS1jbG91ZGZsYXJlLXRva2VuLWZvci10ZXN0cw==").decode()
    assert planted not in text and "ZmFrZS1jbG91ZGZsYXJlLXRva2VuLWZvci10ZXN0cw" not in text


# ---------------------------------------------------------------- restart-data-plane


def test_restart_envoy_for_a_stale_served_certificate(tmp_path):
    tls = [{"address": "203.0.113.10", "port": 443, "source": "gateway", "ok": True, "proxy_protocol": False,
            "chain_pem": [cert_pem("expiring")], "protocol": "TLSv1.3"}]
    plan = plan_for(tmp_path, "restart-data-plane", ENVOY_DEPLOYMENT, tls=tls)
    assert plan.addresses == ["cert-stale-served"]
    s = step(plan, "restart")
    assert (s.change["kind"], s.change["namespace"], s.change["name"]) == (
        "Deployment", "envoy-gateway-system", "envoy-gateway-external-3b2a9c1d")
    assert s.change["body"] == {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": casekit.NOW}}}}}
    assert s.command == "kubectl -n envoy-gateway-system rollout restart deployment/envoy-gateway-external-3b2a9c1d"
    assert s.gitops is None  # Envoy Gateway owns the Deployment; no GitOps owner
    with pytest.raises(NotApplicable):
        plan_for(tmp_path, "restart-data-plane", ENVOY_DEPLOYMENT)  # nothing probed: nothing stale


# ---------------------------------------------------------------- snapshot mode runs nothing


SNAPSHOT_SCENARIOS = [
    ("force-renew", case_edits("cert-expired"), {}),
    ("cleanup-stuck-orders", combine(case_edits("cert-order-stuck"), CM_DOWN), {}),
    ("cert-manager-cloudflare-cleanup-bug", case_edits("cert-cloudflare-7003-cleanup"), {}),
    ("upgrade-cert-manager", case_edits("cert-manager-v1160-issuer-namespace"), {}),
    ("switch-to-production-issuer", case_edits("cert-staging-issuer"), {}),
    ("fix-secret-name-mismatch", case_edits("cert-secret-name-mismatch"), {}),
    ("create-reference-grant", case_edits("cert-refgrant-missing"), {}),
    ("add-https-redirect", NO_REDIRECT, {}),
    ("proxy-protocol-both-sides", case_edits("proxy-protocol-lb-only"), {}),
    ("external-dns-watch-httproute", case_edits("dns-no-record-source"), {}),
    ("k8s-gateway-watch-httproute", case_edits("dns-internal-split-horizon"), {}),
    ("rotate-cloudflare-token", case_edits("cert-cloudflare-token-permission"), {}),
    ("restart-data-plane", ENVOY_DEPLOYMENT, {"tls": [{"address": "203.0.113.10", "port": 443, "ok": True,
                                                       "chain_pem": [cert_pem("expiring")]}]}),
]


def test_every_playbook_has_a_snapshot_scenario():
    assert sorted(p for p, _e, _k in SNAPSHOT_SCENARIOS) == sorted(PLAYBOOK_IDS)


@pytest.mark.parametrize("pid,edits,kw", SNAPSHOT_SCENARIOS, ids=[s[0] for s in SNAPSHOT_SCENARIOS])
def test_snapshot_mode_changes_nothing(tmp_path, pid, edits, kw):
    ev = evidence(tmp_path, edits, **kw)
    plan = build_plan(pid, ev, diagnose(ev))
    assert plan.read_only and plan.change_steps
    ex = Executor(None, audit_log=str(tmp_path / "audit.log"), read_only=True, evidence=ev, playbook_id=pid)
    for s in plan.change_steps:
        assert s.blocked or s.satisfied, s.id
        r = ex.dry_run(s)
        assert not r.ok or r.outcome == "unchanged", (s.id, r)
        r = ex.apply(s)
        assert r.outcome in ("refused", "unchanged"), (s.id, r)
        if r.outcome == "refused":
            assert "refused" in r.message
    for s in plan.steps:
        if s.kind == "read":
            assert ex.run_read(s).details.get("source", "evidence") == "evidence"
    lines = [json.loads(x) for x in (tmp_path / "audit.log").read_text().splitlines()] if (tmp_path / "audit.log").exists() else []
    assert all(not x["applied"] and x["result"] == "refused" for x in lines)
    # Every change step names its exact object and the fields or body it changes.
    for s in plan.change_steps:
        if s.change:
            assert s.change["kind"] and s.change["name"] and (s.change.get("fields") or s.change["op"] in ("delete", "create"))
