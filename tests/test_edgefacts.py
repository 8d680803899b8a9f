"""One source for what the cluster layers tell the probes' side: `edge_facts` builds the
probes' layer's input, `probe_facts` the probes' plan, from the same derivations."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

from edgedoctor.diagnosis import edgefacts
from edgedoctor.diagnosis.engine import cluster_context
from edgedoctor.evidence import Evidence
from edgedoctor.snapshot import load_snapshot
from tests import casekit


def _ctx(tmp_path: Path, case_name: str | None = None, host: str = "app.example.com"):
    edits = {}
    if case_name:
        edits = next(c for c in casekit.load_cases() if c["name"] == case_name).get("broken") or {}
    snap = casekit.write_snapshot(casekit.apply_edits(casekit.base_objects(), casekit.expand(edits)), tmp_path / "s.yaml")
    ev = Evidence(host=host, now=casekit.NOW, source={"kind": "snapshot"}, cluster=load_snapshot([snap]),
                  options={"ca_bundle_pem": "-----BEGIN CERTIFICATE-----\n"})
    return cluster_context(ev)


def test_edge_facts_names_every_field():
    """A field added to EdgeFacts without its line in edge_facts fails here."""
    tree = ast.parse(inspect.getsource(edgefacts.edge_facts))
    call = next(n for n in ast.walk(tree)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "EdgeFacts")
    assert [k.arg for k in call.keywords] == [f.name for f in dataclasses.fields(edgefacts.EdgeFacts)]


def test_edge_facts_are_the_cluster_analysis(tmp_path):
    ctx = _ctx(tmp_path)
    facts = edgefacts.edge_facts(ctx)
    assert facts.host == ctx.host == "app.example.com"
    assert facts.expected_addresses == ctx.expected_addresses and facts.expected_addresses
    assert facts.expected_from == ctx.expected_from != "none"
    assert facts.listener_secret_pem == ctx.secret_pem and "BEGIN CERTIFICATE" in (facts.listener_secret_pem or "")
    assert facts.route_resource is not None and ctx.route is not None
    assert facts.route_resource.endswith(f"/{ctx.route['metadata']['namespace']}/{ctx.route['metadata']['name']}")
    assert facts.now == ctx.ev.now and facts.ca_bundle_pem == ctx.ev.options["ca_bundle_pem"]
    assert facts.external_dns is not None and facts.external_dns["owner_id"]


def test_the_probes_plan_reads_the_same_facts(tmp_path):
    ctx = _ctx(tmp_path, "cert-cloudflare-7003-cleanup")
    facts, plan = edgefacts.edge_facts(ctx), edgefacts.probe_facts(ctx)
    assert plan["gateway_addresses"] == facts.expected_addresses
    assert plan["external_dns"] == facts.external_dns
    assert plan["proxy_protocol"] == facts.proxy_protocol
    # Every waiting challenge the probes' layer looks for is one the probes ask about.
    assert facts.acme_challenges
    assert {c["dns_name"] for c in facts.acme_challenges} <= set(plan["acme_names"])
