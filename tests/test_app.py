"""The application layer under the front ends: the staged check and the exit codes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from edgedoctor.app import run as app_run
from edgedoctor.app.exitcodes import EXIT_CRITICAL, EXIT_OK, EXIT_UNKNOWN, EXIT_WARNING, exit_code
from edgedoctor.collect import CheckOptions, EvidenceError
from edgedoctor.diagnosis import engine
from tests import casekit

NOW = casekit.NOW


def _snapshot(tmp_path: Path, case_name: str) -> str:
    case = next(c for c in casekit.load_cases() if c["name"] == case_name)
    objs = casekit.apply_edits(casekit.base_objects(), casekit.expand(case.get("broken")))
    return str(casekit.write_snapshot(objs, tmp_path / f"{case_name}.yaml"))


def _count_analyses(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = engine.analyze_cluster

    def counting(ev, *args):
        calls.append("probed" if ev.dns is not None else "cluster")
        return real(ev, *args)

    monkeypatch.setattr(engine, "analyze_cluster", counting)
    return calls


def test_exit_codes_follow_the_verdict():
    assert [exit_code(v) for v in ("ok", "warning", "critical", "unknown")] == [
        EXIT_OK, EXIT_WARNING, EXIT_CRITICAL, EXIT_UNKNOWN] == [0, 1, 2, 3]
    assert exit_code("no-such-verdict") == EXIT_UNKNOWN


def test_offline_check_has_one_final_stage_equal_to_check(tmp_path):
    opts = CheckOptions(host="api.example.com", snapshots=[_snapshot(tmp_path, "route-missing")],
                        offline=True, now=NOW)
    stages = list(app_run.CheckRun(opts).stages())
    assert [(s.name, s.final) for s in stages] == [("cluster", True)]
    _, whole = app_run.check(opts)
    assert stages[0].diagnosis.verdict == whole.verdict == "critical"
    assert stages[0].diagnosis.root_cause == whole.root_cause
    assert stages[0].evidence.dns is None and stages[0].evidence.options["offline"] is True


def test_probed_check_delivers_the_cluster_first_and_analyses_it_once(tmp_path, monkeypatch):
    """Loopback only: the resolvers are a closed port on 127.0.0.1, and the fence
    (EDGEDOCTOR_LOOPBACK_ONLY) refuses the Gateway's public address."""
    opts = CheckOptions(host="app.example.com", snapshots=[_snapshot(tmp_path, "cert-cloudflare-7003-cleanup")],
                        now=NOW, nameservers=["127.0.0.1:9"], authoritative=["127.0.0.1:9"], timeout=2.0)
    calls = _count_analyses(monkeypatch)
    run = app_run.CheckRun(opts)
    assert run.will_probe
    stages = list(run.stages())
    assert [(s.name, s.final) for s in stages] == [("cluster", False), ("probes", True)]
    cluster, probed = stages
    # The cluster stage is handed over as it was: the probes fill a copy.
    assert cluster.evidence.dns is None and cluster.evidence.options["offline"] is True
    assert probed.evidence.dns is not None and probed.evidence.options["offline"] is False
    # One analysis of the cluster-only evidence (diagnosis and probe plan), one of the probed.
    assert calls == ["cluster", "probed"]
    _, whole = app_run.check(dataclasses.replace(opts))
    assert {n.node: n.status for n in probed.diagnosis.tree} == {n.node: n.status for n in whole.tree}
    assert probed.diagnosis.root_cause == whole.root_cause


CLUSTER_LAYERS = ("diagnose_gateway", "diagnose_route", "diagnose_certificates", "diagnose_proxy_protocol",
                  "diagnose_k8s_gateway", "diagnose_external_dns")


def _count_layers(monkeypatch) -> dict[str, list[str]]:
    """Each layer's evaluations, by the evidence state it was given."""
    import functools

    from edgedoctor.diagnosis import world

    calls: dict[str, list[str]] = {}

    def counting(name, real, state):
        @functools.wraps(real)
        def layer(*args):
            calls.setdefault(name, []).append(state(*args))
            return real(*args)
        return layer

    for name in CLUSTER_LAYERS:
        monkeypatch.setattr(engine, name, counting(name, getattr(engine, name),
                                                   lambda ctx: "probed" if ctx.probed_dns is not None else "cluster"))
    monkeypatch.setattr(world, "analyze_world", counting("world", world.analyze_world,
                                                         lambda dns, *_: "probed" if dns is not None else "cluster"))
    return calls


def test_check_runs_each_layer_once_per_evidence_state(tmp_path, monkeypatch):
    """`check` with probes: every cluster layer once on the cluster-only evidence (it
    plans the probes) and once on the probed evidence (the diagnosis); the probes' layer
    once. Loopback only, as above."""
    snap = _snapshot(tmp_path, "cert-cloudflare-7003-cleanup")
    calls = _count_layers(monkeypatch)
    ev, d = app_run.check(CheckOptions(host="app.example.com", snapshots=[snap], now=NOW, timeout=2.0,
                                       nameservers=["127.0.0.1:9"], authoritative=["127.0.0.1:9"]))
    assert ev.dns is not None and d.verdict == "critical"
    assert calls == {**{name: ["cluster", "probed"] for name in CLUSTER_LAYERS}, "world": ["probed"]}

    calls.clear()
    app_run.check(CheckOptions(host="app.example.com", snapshots=[snap], now=NOW, offline=True))
    assert calls == {name: ["cluster"] for name in CLUSTER_LAYERS}

    calls.clear()
    recording = str(Path(__file__).resolve().parents[1] / "recordings" / "cert-manager-7003-cleanup.yaml")
    app_run.check(CheckOptions(host="portal.contoso.example", replay=recording))
    assert calls == {**{name: ["probed"] for name in CLUSTER_LAYERS}, "world": ["probed"]}


def test_the_second_analysis_is_of_other_evidence(tmp_path):
    """Why a probed check analyses the cluster again: the same objects, with the probes'
    DNS answers, can name another Gateway (and so other addresses, listener, route)."""
    from edgedoctor.evidence import Evidence
    from edgedoctor.snapshot import load_snapshot

    internal = {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "internal", "namespace": "gateway"},
        "spec": {"gatewayClassName": "eg", "listeners": [{
            "name": "https", "protocol": "HTTPS", "port": 443, "hostname": "*.example.com",
            "allowedRoutes": {"namespaces": {"from": "All"}},
            "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "wildcard-example-com-tls"}]}}]},
        "status": {"addresses": [{"type": "IPAddress", "value": "10.20.0.10"}]},
    }
    snap = casekit.write_snapshot(casekit.apply_edits(casekit.base_objects(), {"set": [internal]}), tmp_path / "two.yaml")
    cluster = load_snapshot([snap])
    answers = {"queries": [{"purpose": "address", "role": "authoritative", "server": "127.0.0.1:9",
                            "qname": "app.example.com.", "qtype": "A", "rcode": "NOERROR",
                            "answer": [{"name": "app.example.com.", "type": "A", "ttl": 60, "value": "10.20.0.10"}]}]}
    before = engine.analyze_cluster(Evidence(host="app.example.com", now=NOW, source={"kind": "snapshot"}, cluster=cluster)).ctx
    after = engine.analyze_cluster(Evidence(host="app.example.com", now=NOW, source={"kind": "snapshot"}, cluster=cluster, dns=answers)).ctx
    assert before.gateway is not None and after.gateway is not None
    assert before.gateway["metadata"]["name"] == "external" and before.expected_addresses == ["203.0.113.10"]
    assert after.gateway["metadata"]["name"] == "internal" and after.expected_addresses == ["10.20.0.10"]


def test_bad_probe_flags_fail_before_anything_is_read(tmp_path):
    opts = CheckOptions(host="app.example.com", snapshots=[str(tmp_path / "absent.yaml")],
                        nameservers=["not an address"])
    with pytest.raises(EvidenceError, match="not an address"):
        next(app_run.CheckRun(opts).stages())


def _step(sid: str, choice: str | None = None, option: str | None = None, **kw):
    from edgedoctor.remedy.plan import StepPlan

    return StepPlan(id=sid, kind="change", title=sid, explain="", command="", change={"op": "patch"},
                    choice=choice, option=option, **kw)


def test_one_option_of_a_choice_is_applied_and_a_declined_one_leaves_the_other():
    from edgedoctor.app.playbook import Choices

    a, b = _step("a", "pp", "envoy"), _step("b", "pp", "lb")
    c = Choices()
    assert c.skip_reason(a) is None and c.skip_reason(b) is None
    c.declined(a)
    assert c.skip_reason(a) == "option envoy of pp was declined or cannot run" and c.skip_reason(b) is None
    c.was_applied(b)
    assert c.taken_by_other(a) == "option lb of pp was applied" and c.taken_by_other(b) is None


def test_a_choice_stops_the_run_only_when_every_option_is_refused():
    from edgedoctor.app.playbook import considered_steps, fatal_steps
    from edgedoctor.remedy.plan import Plan, StepResult

    a, b = _step("a", "pp", "envoy", recommended=True), _step("b", "pp", "lb")
    req = _step("req")
    plan = Plan(playbook_id="p", title="t", host="h", steps=[a, b, req], notes=[], read_only=False)
    assert considered_steps(plan, yes=True) == [a, req]  # --yes: the recommended option only
    considered = considered_steps(plan, yes=False)
    ok, denied = StepResult(True, "ok", outcome="ok"), StepResult(False, "no", outcome="denied")
    assert fatal_steps(considered, [a], {"a": denied, "b": ok, "req": ok}) == []
    assert fatal_steps(considered, [a, b], {"a": denied, "b": denied, "req": ok}) == [a, b]
    assert fatal_steps(considered, [req], {"a": ok, "b": ok, "req": denied}) == [req]
