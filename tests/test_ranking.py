"""The root cause is the first link the request breaks on (checks/README.md, "Ranking"),
tested with pairs of faults: every incident of the library plus a second, independent
fault, and the rule's parts on their own."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from edgedoctor.diagnosis.engine import analyze_cluster, diagnose, probe_inputs
from edgedoctor.diagnosis.ranking import CONSEQUENCES, rank
from edgedoctor.evidence import Evidence
from edgedoctor.model import Finding
from edgedoctor.recording import load_recording

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = sorted((ROOT / "recordings").glob("*.yaml"))
STALE = "192.0.2.254"
# Findings the probes make through the address DNS gives: with DNS stale they see the old one.
SEEN_THROUGH_ADDRESS = {"cert-stale-served", "cert-expired", "cert-expiring", "cert-san-mismatch",
                        "cert-staging-issuer", "redirect-missing"}  # TEST-NET-1: an old load balancer where nothing listens any more


def _stale_dns(ev: Evidence) -> Evidence:
    """The same incident, while DNS still answers an old address where nothing listens."""
    ev = copy.deepcopy(ev)
    reg = probe_inputs(analyze_cluster(ev))["external_dns"] or {}
    for q in ev.dns.get("queries") or []:
        if q.get("purpose") == "txt-registry" and q.get("qname") == f"a-{ev.host}." and reg.get("owner_id"):
            # external-dns wrote the old address: its registry record says so.
            route = analyze_cluster(ev).ctx.route
            res = f"httproute/{route['metadata']['namespace']}/{route['metadata']['name']}" if route else ""
            q["rcode"] = "NOERROR"
            q["answer"] = [{"name": q["qname"], "type": "TXT", "ttl": 300, "value":
                            f'"heritage=external-dns,external-dns/owner={reg["owner_id"]},external-dns/resource={res}"'}]
        if q.get("purpose") != "address":
            continue
        if q.get("qtype") == "A":
            q["rcode"] = "NOERROR"
            q["answer"] = [{"name": q["qname"], "type": "A", "ttl": 300, "value": STALE}]
        elif q.get("qtype") == "AAAA":
            q["rcode"], q["answer"] = "NOERROR", []
    for probes in (ev.tls or [], ev.http or []):
        for p in probes:
            if p.get("source") == "dns":
                p.update(address=STALE, ok=False, status=None, error=f"connection to {STALE}:{p.get('port')} refused",
                         error_kind="refused", chain_pem=[])
    return ev


def _library():
    for f in LIBRARY:
        ev, doc = load_recording(f)
        exp = doc["expected"]
        if ev.dns is None or exp["root_cause"] is None or exp["category"] == "dns-sync":
            continue
        yield pytest.param(ev, exp, id=f.name)


@pytest.mark.parametrize(("ev", "exp"), list(_library()))
def test_stale_dns_plus_any_incident(ev, exp):
    """Users never reach the Gateway: DNS is the root cause, the incident a further finding,
    unless the incident is what keeps external-dns from publishing the host at all."""
    d = diagnose(_stale_dns(ev))
    assert d.verdict == "critical"
    codes = [f.code for f in d.findings]
    causes = {f.code for f in d.findings if f.severity != "info"} & CONSEQUENCES["dns-wrong-target"]
    if causes:
        # external-dns does not publish the host at all: the stale record is its consequence.
        assert d.root_cause["code"] in causes | {exp["root_cause"]}, codes
        assert codes[0] != "dns-wrong-target"
        return
    assert d.root_cause["code"] == "dns-wrong-target", codes
    if exp["root_cause"] in SEEN_THROUGH_ADDRESS:
        return  # the probes now meet the old address: what the Gateway serves is not seen
    second = next(f for f in d.findings if f.code == exp["root_cause"])
    assert second.severity == exp["verdict"], second


def test_issue_pair_stale_dns_and_cloudflare_token():
    ev, _ = load_recording(ROOT / "recordings" / "cert-cloudflare-token-zone-read.yaml")
    d = diagnose(_stale_dns(ev))
    crit = [f.code for f in d.findings if f.severity == "critical"]
    assert crit[0] == "dns-wrong-target" and d.root_cause["code"] == "dns-wrong-target"
    assert "cert-cloudflare-token-permission" in crit[1:]


def _f(code: str, severity: str, node: str, explained_by: str | None = None) -> Finding:
    return Finding(code=code, severity=severity, node=node, message=code, explained_by=explained_by)  # type: ignore[arg-type]


def test_blocks_users_now_before_will_block_later():
    # A DNS warning is earlier on the path, but the certificate failure breaks the site now.
    out = rank([_f("dns-wildcard-masking", "warning", "dns"), _f("cert-expired", "critical", "served-certificate")])
    assert [f.code for f in out] == ["cert-expired", "dns-wildcard-masking"]


@pytest.mark.parametrize(("first", "then"), [
    (("dns-wrong-target", "dns"), ("proxy-protocol-mismatch", "load-balancer")),
    (("gateway-not-programmed", "gateway"), ("listener-no-match", "listener")),
    (("listener-no-match", "listener"), ("route-backend-unresolved", "backend")),
    (("route-backend-unresolved", "backend"), ("cert-san-mismatch", "served-certificate")),
    (("cert-san-mismatch", "served-certificate"), ("redirect-missing", "http-redirect")),
    # Inside the certificate link, the deepest object of the issuance chain explains the rest.
    (("cert-cloudflare-7003-cleanup", "challenge"), ("cert-secret-missing", "secret")),
    (("cert-rate-limited", "order"), ("cert-expired", "served-certificate")),
])
def test_first_link_on_the_path(first, then):
    for order in ((first, then), (then, first)):
        out = rank([_f(code, "critical", node) for code, node in order])
        assert out[0].code == first[0], [f.code for f in out]


def test_a_consequence_ranks_after_its_cause():
    out = rank([_f("dns-no-record", "critical", "dns"), _f("route-missing", "critical", "route")])
    assert out[0].code == "route-missing"
    out = rank([_f("cert-expired", "critical", "served-certificate", explained_by="cert-stale-served"),
                _f("cert-stale-served", "critical", "served-certificate")])
    assert out[0].code == "cert-stale-served"
    # A cause that is absent explains nothing.
    out = rank([_f("cert-expired", "critical", "served-certificate", explained_by="cert-stale-served"),
                _f("redirect-missing", "critical", "http-redirect")])
    assert out[0].code == "cert-expired"
