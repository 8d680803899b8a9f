"""A field of the wrong type on an object the diagnosis uses is never a silent pass: the
node of that object is `unknown`, naming the object and the field (issue 11, class 3)."""

from __future__ import annotations

import pytest

from edgedoctor.diagnosis.engine import diagnose
from edgedoctor.evidence import ClusterEvidence, Evidence
from tests import casekit

HOST = "app.example.com"

# (kind, namespace, name, merge, node, field named in the summary)
CASES = [
    ("HTTPRoute", "shop", "app", {"spec": {"hostnames": 7}}, "route", "spec.hostnames"),
    ("HTTPRoute", "shop", "app", {"spec": {"rules": "all"}}, "route", "spec.rules"),
    ("HTTPRoute", "shop", "app", {"spec": {"parentRefs": [{"name": ["external"]}]}}, "route",
     "spec.parentRefs[0].name"),
    ("Gateway", "gateway", "external", {"spec": {"listeners": {"name": "https"}}}, "gateway", "spec.listeners"),
    ("Gateway", "gateway", "external", {"status": {"addresses": "203.0.113.10"}}, "gateway", "status.addresses"),
    ("Certificate", "gateway", "wildcard-example-com", {"spec": {"dnsNames": "*.example.com"}}, "certificate",
     "spec.dnsNames"),
    ("Certificate", "gateway", "wildcard-example-com", {"status": {"conditions": {"type": "Ready"}}},
     "certificate", "status.conditions"),
    ("Service", "shop", "app", {"spec": {"ports": 8080}}, "backend", "spec.ports"),
]


def _diagnose(objs):
    ev = Evidence(host=HOST, now=casekit.NOW, source={"kind": "snapshot"},
                  cluster=ClusterEvidence(objects=objs, kinds_read=sorted({o["kind"] for o in objs})))
    return diagnose(ev)


def test_base_is_healthy():
    d = _diagnose(casekit.base_objects())
    assert d.verdict == "ok", d.to_dict()


@pytest.mark.parametrize(("kind", "ns", "name", "merge", "node", "field"), CASES,
                         ids=[f"{c[0]}-{c[5]}" for c in CASES])
def test_wrong_type_on_the_path_is_unknown(kind, ns, name, merge, node, field):
    objs = casekit.apply_edits(casekit.base_objects(),
                               {"patch": [{"kind": kind, "namespace": ns, "name": name, "merge": merge}]})
    d = _diagnose(objs)
    n = d.node(node)
    assert n is not None and n.status == "unknown", (node, n)
    assert f"{kind} {ns}/{name}" in n.summary and field in n.summary, n.summary
    assert d.verdict in ("unknown", "critical")
    if d.verdict == "unknown":
        assert any(field in r for r in d.unknown_reasons)


def test_wrong_type_off_the_path_changes_nothing():
    # A route for another host: its corruption is not this host's problem.
    objs = casekit.apply_edits(casekit.base_objects(), {"patch": [
        {"kind": "HTTPRoute", "namespace": "web", "name": "landing",
         "merge": {"spec": {"rules": 5, "hostnames": ["www.example.org"]}}}]})
    d = _diagnose(objs)
    assert d.verdict == "ok", [n.to_dict() for n in d.tree if n.status != "pass"]
