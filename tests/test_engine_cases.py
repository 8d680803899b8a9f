"""Table-driven: every case file is a broken cluster (naming one root cause) and its
healthy twin (which must not name it), diagnosed from snapshot files."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgedoctor.diagnosis.engine import diagnose
from edgedoctor.evidence import Evidence
from edgedoctor.snapshot import load_snapshot
from tests import casekit

CASES = casekit.load_cases()


def _run(tmp_path: Path, edits: dict, host: str, now: str, name: str):
    objs = casekit.apply_edits(casekit.base_objects(), casekit.expand(edits))
    snap = casekit.write_snapshot(objs, tmp_path / f"{name}.yaml")
    ev = Evidence(host=host, now=now, source={"kind": "snapshot"}, cluster=load_snapshot([snap]))
    return diagnose(ev)


def _check(d, expect: dict, code: str, label: str) -> None:
    summary = f"{label}: verdict={d.verdict} root={d.root_cause and d.root_cause['code']} codes={d.codes}"
    if "verdict" in expect:
        assert d.verdict == expect["verdict"], summary
    if "root_cause" in expect:
        assert d.root_cause is not None and d.root_cause["code"] == expect["root_cause"], summary
    if "category" in expect:
        assert d.category == expect["category"], summary
    for c in expect.get("codes", []):
        assert c in d.codes, summary
    for c in expect.get("absent", []):
        assert c not in d.codes, summary


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case_names_its_root_cause(case, tmp_path):
    d = _run(tmp_path, case.get("broken") or {}, case.get("host", "app.example.com"), case.get("now", casekit.NOW), "broken")
    _check(d, case["expect"], case["code"], case["name"])
    # The root cause is explained: it has evidence text and at least one command.
    root = d.findings[0]
    assert root.message and root.commands, case["name"]
    assert root.category in ("app-routing", "dns-sync", "cert-issuance")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_healthy_twin_does_not(case, tmp_path):
    twin = case.get("twin") or {}
    host = twin.get("host", case.get("host", "app.example.com"))
    d = _run(tmp_path, twin.get("edits") or {}, host, twin.get("now", case.get("now", casekit.NOW)), "twin")
    # An info note may mention the code; the twin must not raise it as a problem.
    raised = [f.code for f in d.findings if f.severity != "info"]
    assert case["code"] not in raised, f"{case['name']} twin: {d.codes}"
    _check(d, twin.get("expect", {"verdict": "ok"}), case["code"], case["name"] + " twin")


def test_every_case_code_is_in_the_catalog():
    from edgedoctor import catalog

    codes = set(catalog.all_codes())
    assert {c["code"] for c in CASES} <= codes


@pytest.mark.parametrize("available", [0, 2])
def test_not_programmed_for_want_of_replicas_names_the_data_plane_deployment(tmp_path, available):
    """Envoy Gateway's NoResources says "Envoy replicas unavailable" and names nothing; when
    the Gateway's data plane Deployment is read and has no replica available, the finding
    names it (seen on the real controller, tests/test_envoy_gateway_real.py)."""
    case = next(c for c in CASES if c["name"] == "gateway-not-programmed")
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "envoy-edge-web-5d1e", "namespace": "platform",
                     "labels": {"gateway.envoyproxy.io/owning-gateway-name": "external",
                                "gateway.envoyproxy.io/owning-gateway-namespace": "gateway"}},
        "spec": {"replicas": 2},
        "status": {"replicas": 2, "availableReplicas": available,
                   "conditions": [{"type": "Available", "status": "True" if available else "False"}]},
    }
    edits = casekit.expand(case["broken"])
    edits["set"] = list(edits.get("set") or []) + [deployment]
    d = _run(tmp_path, edits, "app.example.com", casekit.NOW, "no-resources")
    assert d.root_cause is not None and d.root_cause["code"] == "gateway-not-programmed"
    finding = next(f for f in d.findings if f.code == "gateway-not-programmed")
    named = "Deployment platform/envoy-edge-web-5d1e has 0/2 available replicas"
    if available:
        assert named not in finding.message and "deployments" not in finding.evidence
    else:
        assert named in finding.message, finding.message
        assert finding.evidence["deployments"] == ["platform/envoy-edge-web-5d1e"]
        assert "kubectl -n platform get deploy envoy-edge-web-5d1e" in finding.commands
