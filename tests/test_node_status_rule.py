"""The engine rule over the whole incident library: a node that carries a finding is never
shown better than the finding's severity, and a WARNING over FAIL nodes says why.

Checked on every recording as recorded and with its probe evidence dropped (what an
offline check of the same cluster sees), and in each front end: the JSON's tree, the text
tree's marks and the TUI tree's words come from the same statuses.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from edgedoctor.collect import CheckOptions, gather
from edgedoctor.diagnosis.engine import diagnose, settle_nodes, verdict_label
from edgedoctor.model import Finding, NodeResult
from edgedoctor.output.jsonout import render_json
from edgedoctor.output.text import MARK, render_text
from edgedoctor.recording import read_recording_doc

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "recordings").glob("*.yaml"))
FLOOR = {"warning": {"warn", "fail", "unknown", "error"}, "critical": {"fail", "unknown", "error"}}


def _diagnoses(path: Path):
    host = read_recording_doc(path)["evidence"]["host"]
    ev = gather(CheckOptions(host=host, replay=str(path)))
    yield "as recorded", diagnose(ev)
    offline = dataclasses.replace(ev, dns=None, tls=None, http=None, options={**ev.options, "offline": True})
    yield "offline", diagnose(offline)


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_a_node_with_a_finding_is_never_better_than_the_finding(path):
    for how, d in _diagnoses(path):
        status = {n.node: n.status for n in d.tree}
        for f in d.findings:
            if f.severity in FLOOR and f.node in status:
                assert status[f.node] in FLOOR[f.severity], f"{how}: {f.severity} {f.code} at {f.node} shown {status[f.node]}"
        if d.verdict == "warning" and "fail" in status.values():
            assert d.verdict_label, f"{how}: WARNING over FAIL nodes without a label"
        else:
            assert d.verdict_label is None, how
        # The same statuses in the JSON and the text tree.
        doc = json.loads(render_json(d))
        assert [(n["node"], n["status"]) for n in doc["tree"]] == list(status.items())
        assert doc.get("verdict_label") == d.verdict_label
        text = render_text(d)
        for node, st in status.items():
            assert f"[{MARK[st]}] {node} " in text, f"{how}: {node} {st}"
        if d.verdict_label:
            assert d.verdict_label in text.split("\n  [")[0], "the label is said before the tree"


def test_the_seed_contradictions_are_gone():
    """The cases of the report: each root-cause node now shows its failure."""
    seen = {}
    for name, node in [("k8s-gateway-no-httproute.yaml", "dns"), ("cert-refgrant-missing.yaml", "secret"),
                       ("route-conflict-canary.yaml", "route"), ("dns-record-made-by-hand.yaml", "dns")]:
        d = next(_diagnoses(ROOT / "recordings" / name))[1]
        n = d.node(node)
        assert n.status in ("warn", "fail") and d.findings[0].code in n.summary, (name, n)
        seen[name] = n.status
    assert seen["k8s-gateway-no-httproute.yaml"] == "fail" and seen["route-conflict-canary.yaml"] == "warn"


def test_a_blocked_renewal_says_the_current_certificate_is_valid():
    d = next(_diagnoses(ROOT / "recordings" / "cert-manager-7003-cleanup.yaml"))[1]
    assert d.verdict == "warning"
    assert d.verdict_label.startswith("renewal blocked, current certificate valid until 2025-02-18T08:19:59Z")


def _n(node: str, status: str, **details) -> NodeResult:
    return NodeResult(node, status, f"{node} summary", details)  # type: ignore[arg-type]


def test_rule_on_plain_data():
    nodes = {"dns": _n("dns", "pass"), "route": _n("route", "warn"), "order": _n("order", "unknown"),
             "secret": _n("secret", "skip")}
    findings = [Finding("x-crit", "critical", "route", "broken"), Finding("y-warn", "warning", "dns", "odd"),
                Finding("z-info", "info", "dns", "fyi"), Finding("w-crit", "critical", "order", "?"),
                Finding("v-warn", "warning", "secret", "missing")]
    settle_nodes(nodes, findings)
    assert nodes["route"].status == "fail" and nodes["route"].summary == "x-crit: route summary"
    assert nodes["dns"].status == "warn" and nodes["dns"].details["raised_by"] == "y-warn"
    assert nodes["order"].status == "unknown", "not established stays not established"
    assert nodes["secret"].status == "warn" and nodes["secret"].summary == "v-warn: missing"


def test_label_only_for_warning_over_fail():
    tree = [_n("certificate", "pass"), _n("order", "fail"), _n("secret", "warn", not_after="2030-01-01T00:00:00Z"),
            _n("served-certificate", "warn")]
    assert verdict_label("warning", tree) == "renewal blocked, current certificate valid until 2030-01-01T00:00:00Z (order failing)"
    assert verdict_label("critical", tree) is None
    assert verdict_label("warning", [_n("order", "warn")]) is None
    other = verdict_label("warning", [_n("route", "fail"), _n("served-certificate", "pass")])
    assert other and "route failing" in other and "still served" in other
