"""analyze_world on evidence gathered by run_probes from real servers, each case with a
healthy twin that must not raise the code."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from edgedoctor.diagnosis.world import (
    EdgeFacts,
    analyze_world,
    caa_allows,
    parse_registry,
    txt_strings,
)
from edgedoctor.probes.dns import probe_dns, txt_registry_names
from edgedoctor.probes.runner import ProbePlan, run_probes
from edgedoctor.probes.tls import probe_tls
from tests.servers.common import free_port
from tests.servers.fixtures import (  # noqa: F401 - pytest fixtures
    faults,
    named_factory,
    nginx_factory,
    test_ca,
    write_ca_bundle,
)
from tests.servers.named import zone_text

pytestmark = pytest.mark.servers

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
GW = "127.0.0.61"  # the Gateway's address: what external-dns should publish
REG = '"heritage=external-dns,external-dns/owner={owner},external-dns/resource=httproute/apps/{name}"'

# host label -> (address, certificate kind, http behaviour)
SITES = {
    "good": (GW, "prod", "redirect"),
    "staging": ("127.0.0.62", "staging", "redirect"),
    "expired": ("127.0.0.63", "expired", "redirect"),
    "a.b": ("127.0.0.64", "wildcard", "redirect"),
    "noredir": ("127.0.0.65", "prod", "plain"),
    "loop": ("127.0.0.66", "prod", "redirect"),
    "expiring": ("127.0.0.67", "expiring", "redirect"),
    "pp": ("127.0.0.68", "prod", "redirect"),
}


def _records():
    recs = [(label, 300, "A", addr) for label, (addr, _, _) in SITES.items()]
    # external-dns registry records: every site is ours (its typed name a-<label>).
    recs += [(f"a-{label}", 300, "TXT", REG.format(owner="default", name=label.split(".")[0]))
             for label in SITES]
    recs += [
        ("wrong", 300, "A", "127.0.0.77"),
        ("wrong", 300, "TXT", '"v=spf1 -all"'),
        ("a-wrong", 300, "TXT", REG.format(owner="default", name="wrong")),
        ("moved", 300, "A", GW),
        ("a-moved", 300, "TXT", REG.format(owner="default", name="moved")),
        ("fresh", 300, "A", GW),
        ("owned", 300, "A", GW),
        ("a-owned", 300, "TXT", REG.format(owner="other-cluster", name="owned")),
        ("handmade", 300, "A", GW),
        ("*.wild", 300, "A", GW),
        ("caa-locked", 300, "A", GW),
        ("caa-locked", 300, "CAA", '0 issue "pki.goog"'),
        ("wc", 300, "CAA", '0 issue "letsencrypt.org"'),
        ("wc", 300, "CAA", '0 issuewild ";"'),
        ("cf", 300, "A", "104.16.132.229"),
        ("many", 300, "A", GW),
        *[("many", 300, "A", f"127.0.1.{i}") for i in range(1, 11)],
        ("@", 300, "CAA", '0 issue "letsencrypt.org"'),
    ]
    return recs


@pytest.fixture(scope="module")
def world(named_factory, nginx_factory, test_ca, tmp_path_factory):  # noqa: F811
    ca = test_ca
    auth = named_factory({"example.com": zone_text("example.com", _records(), serial=20, minimum=60)})
    # The resolver that has not caught up: an older copy of the zone (see tests/servers/named.py).
    stale = named_factory({"example.com": zone_text(
        "example.com", [("moved", 120, "A", "127.0.0.99"), ("good", 300, "A", GW)], serial=19, minimum=60)})
    https, http = free_port(GW, udp=False), free_port(GW, udp=False)
    ng = nginx_factory()
    issued = {}
    for label, (addr, kind, behaviour) in SITES.items():
        host = f"{label}.example.com"
        if kind == "prod":
            leaf = ca.leaf([host])
        elif kind == "staging":
            leaf = ca.leaf([host], issuer=ca.staging)
        elif kind == "expired":
            leaf = ca.leaf([host], not_before=NOW - dt.timedelta(days=95), not_after=NOW - dt.timedelta(days=5))
        elif kind == "expiring":
            leaf = ca.leaf([host], not_before=NOW - dt.timedelta(days=85), not_after=NOW + dt.timedelta(days=5))
        else:
            leaf = ca.leaf(["*.example.com"])
        issued[host] = leaf
        redirect = "https://$host$request_uri" if label == "loop" else None
        ng.tls_site((addr, https), [host], leaf, default=True, redirect=redirect, proxy_protocol=label == "pp")
        ng.http_site((addr, http), [host], default=True, redirect="https://$host$request_uri" if behaviour == "redirect" else None)
    ng.start()
    bundle = write_ca_bundle(tmp_path_factory.mktemp("bundle"), ca)
    return {"auth": auth, "stale": stale, "https": https, "http": http, "bundle": str(bundle),
            "issued": issued, "ca": ca}


def probe(world, host, *, resolver=None, gateway=(GW,), proxy=False, acme=(), resolve=None):
    plan = ProbePlan(
        host=host,
        nameservers=[(resolver or world["auth"]).server],
        authoritative=[world["auth"].server],
        gateway_addresses=list(gateway),
        extra_txt=txt_registry_names(host),
        acme_names=list(acme),
        ca_bundle=world["bundle"],
        timeout=8,
        probe_timeout=2,
        proxy_protocol_check=proxy,
        https_port=world["https"],
        http_port=world["http"],
        resolve=resolve or {},
    )
    return run_probes(plan)


def facts(world, host, **kw):
    base = dict(
        host=host,
        expected_addresses=[GW],
        expected_from="gateway-status",
        external_dns={"owner_id": "default", "txt_prefix": "", "txt_suffix": "", "wildcard_replacement": ""},
        route_resource=f"httproute/apps/{host.split('.')[0]}",
        now=NOW.isoformat().replace("+00:00", "Z"),
        ca_bundle_pem=world["ca"].root_pem,
        proxy_protocol={"envoy_expects": None, "lb_sends": None},
    )
    base.update(kw)
    return EdgeFacts(**base)


def judge(world, host, probe_kw=None, **fact_kw):
    dns, tls, http = probe(world, host, **(probe_kw or {}))
    out = analyze_world(dns, tls, http, facts(world, host, **fact_kw))
    return out, {f.code: f for f in out.findings}


def test_healthy_host_passes_every_node(world):
    out, codes = judge(world, "good.example.com")
    assert codes == {}, [f.message for f in out.findings]
    assert {n: r.status for n, r in out.nodes.items()} == {
        "dns": "pass", "served-certificate": "pass", "http-redirect": "pass"}
    assert out.nodes["dns"].summary.startswith("good.example.com resolves to 127.0.0.61")
    cert = out.nodes["served-certificate"].details["certificates"][0]
    assert cert["verification"]["verified"] is True and cert["covers_host"]
    assert cert["issuer_cn"] == "R11"


def test_staging_certificate(world):
    out, codes = judge(world, "staging.example.com", {"gateway": ("127.0.0.62",)}, expected_addresses=["127.0.0.62"])
    f = codes["cert-staging-issuer"]
    assert f.severity == "warning" and "(STAGING) Riddling Rhubarb R12" in f.message
    assert f.commands[0].startswith("openssl s_client -connect 127.0.0.62:")
    assert out.nodes["served-certificate"].status == "warn"
    assert set(codes) == {"cert-staging-issuer"}


def test_expired_certificate(world):
    out, codes = judge(world, "expired.example.com", {"gateway": ("127.0.0.63",)}, expected_addresses=["127.0.0.63"])
    assert codes["cert-expired"].severity == "critical"
    assert codes["cert-expired"].evidence["not_after"] < NOW.isoformat()
    assert out.nodes["served-certificate"].status == "fail"
    assert "cert-expiring" not in codes


def test_expiring_certificate(world):
    out, codes = judge(world, "expiring.example.com", {"gateway": ("127.0.0.67",)}, expected_addresses=["127.0.0.67"])
    f = codes["cert-expiring"]
    assert f.severity == "warning" and 4 * 86400 < f.evidence["seconds_left"] <= 5 * 86400
    # A 3-day renewal window: not yet due.
    _, codes = judge(world, "expiring.example.com", {"gateway": ("127.0.0.67",)}, expected_addresses=["127.0.0.67"],
                     renew_before_seconds=3 * 86400)
    assert "cert-expiring" not in codes


def test_wildcard_does_not_cover_two_labels(world):
    out, codes = judge(world, "a.b.example.com", {"gateway": ("127.0.0.64",)}, expected_addresses=["127.0.0.64"])
    f = codes["cert-san-mismatch"]
    assert "*.example.com covers exactly one label" in f.message
    assert f.severity == "critical" and f.explained_by is None
    # Its twin: the same wildcard certificate does cover a one-label name.
    twin = probe_tls("one.example.com", "127.0.0.64", world["https"])
    out = analyze_world(None, [twin], None, facts(world, "one.example.com"))
    assert not out.findings and out.nodes["served-certificate"].status == "pass"


def test_redirect_missing_and_loop(world):
    out, codes = judge(world, "noredir.example.com", {"gateway": ("127.0.0.65",)}, expected_addresses=["127.0.0.65"])
    f = codes["redirect-missing"]
    assert f.evidence["status"] == 200 and "instead of a redirect" in f.message
    assert f.commands == [f"curl -sSI --resolve noredir.example.com:{world['http']}:127.0.0.65 "
                          f"http://noredir.example.com:{world['http']}/"]
    out, codes = judge(world, "loop.example.com", {"gateway": ("127.0.0.66",)}, expected_addresses=["127.0.0.66"])
    f = codes["redirect-missing"]
    assert "redirect loop" in f.message and f.severity == "critical"
    assert out.nodes["http-redirect"].status == "fail"


def test_no_record_at_the_authoritative_servers(world):
    out, codes = judge(world, "missing.example.com")
    f = codes["dns-no-record"]
    assert "NXDOMAIN" in f.message and "127.0.0.61" in f.message
    assert f.commands[0] == f"dig @127.0.0.1 -p {world['auth'].port} +norecurse missing.example.com A"
    assert out.nodes["dns"].status == "fail"
    # The Gateway itself still serves: HTTP and TLS went to its address.
    assert out.nodes["http-redirect"].status == "pass"


def test_wrong_target(world):
    out, codes = judge(world, "wrong.example.com")
    f = codes["dns-wrong-target"]
    assert f.evidence["answer"] == ["127.0.0.77"] and f.evidence["expected"] == [GW]
    assert "dns-ownership-conflict" not in codes  # the registry says it is ours
    sources = {(t["address"], t["source"]) for t in _tls_of(world, "wrong.example.com")}
    assert sources == {("127.0.0.77", "dns"), (GW, "gateway")}


def _tls_of(world, host):
    return probe(world, host)[1]


def test_propagation_stale_positive_and_negative_cache(world):
    out, codes = judge(world, "moved.example.com", {"resolver": world["stale"]})
    f = codes["dns-propagation"]
    res = f.evidence["resolvers"][0]
    assert res["answer"] == ["127.0.0.99"] and res["wait_seconds"] == 120
    assert f.severity == "warning"
    out, codes = judge(world, "fresh.example.com", {"resolver": world["stale"]})
    res = codes["dns-propagation"].evidence["resolvers"][0]
    assert res["answer"] == "NXDOMAIN" and res["wait_seconds"] == 60 and res["negative_ttl"] == 60
    assert "cached for up to 60 s" in codes["dns-propagation"].message
    # Users behind that resolver cannot reach the host now: critical, with the time left.
    assert codes["dns-propagation"].severity == "critical"
    assert "cannot reach fresh.example.com for up to 60 s more" in codes["dns-propagation"].message
    # Twin: the resolver that has the same data.
    _, codes = judge(world, "good.example.com", {"resolver": world["stale"]})
    assert "dns-propagation" not in codes


def test_ownership_conflicts(world):
    _, codes = judge(world, "owned.example.com")
    f = codes["dns-ownership-conflict"]
    assert f.evidence["found_owner"] == "other-cluster" and f.evidence["owner_id"] == "default"
    assert f.severity == "warning"  # the record is right today; external-dns just cannot manage it
    _, codes = judge(world, "handmade.example.com")
    assert "not owned by external-dns" in codes["dns-ownership-conflict"].message
    _, codes = judge(world, "good.example.com", route_resource="httproute/apps/other")
    assert codes["dns-ownership-conflict"].evidence["found_resource"] == "httproute/apps/good"
    _, codes = judge(world, "handmade.example.com", external_dns=None)
    assert "dns-ownership-conflict" not in codes


def test_wildcard_masking(world):
    out, codes = judge(world, "x.wild.example.com")
    f = codes["dns-wildcard-masking"]
    assert f.severity == "warning" and f.evidence["wildcard_answer"] == [GW]
    assert out.nodes["dns"].status == "warn"
    assert "dns-no-record" not in codes


def test_cloudflare_proxied_from_dns_alone(world):
    # DNS only: the probes must not connect to Cloudflare's (non-loopback) addresses.
    dns = probe_dns("cf.example.com", nameservers=[], authoritative=[world["auth"].server], timeout=2)
    out = analyze_world(dns, None, None, facts(world, "cf.example.com"))
    codes = {f.code: f for f in out.findings}
    assert codes["dns-cloudflare-proxied"].evidence["cloudflare_ranges"] == {"104.16.132.229": "104.16.0.0/13"}
    assert "dns-wrong-target" not in codes
    assert out.nodes["served-certificate"].status == "skip"


def test_caa(world):
    dns = probe_dns("caa-locked.example.com", nameservers=[], authoritative=[world["auth"].server], timeout=2)
    codes = {f.code: f for f in analyze_world(dns, None, None, facts(world, "caa-locked.example.com")).findings}
    assert codes["cert-caa-forbids"].evidence["records"] == ['0 issue "pki.goog"']
    wc = probe_dns("wc.example.com", nameservers=[], authoritative=[world["auth"].server], timeout=2)
    challenge = {"name": "wc-1", "namespace": "apps", "dns_name": "wc.example.com", "key": "k",
                 "wildcard": True, "waiting_seconds": 10, "reason": None}
    codes = {f.code for f in analyze_world(wc, None, None, facts(world, "wc.example.com",
                                                                 acme_challenges=[challenge])).findings}
    assert "cert-caa-forbids" in codes
    codes = {f.code for f in analyze_world(wc, None, None, facts(world, "wc.example.com", acme_challenges=[
        dict(challenge, wildcard=False)])).findings}
    assert "cert-caa-forbids" not in codes
    dns = probe_dns("good.example.com", nameservers=[], authoritative=[world["auth"].server], timeout=2)
    assert not analyze_world(dns, None, None, facts(world, "good.example.com")).findings


def test_dns01_challenge_txt_at_the_authoritative_servers(world):
    world["auth"].update("example.com", add=[("_acme-challenge.good", 60, "TXT", '"key-published"')])
    dns, tls, http = probe(world, "good.example.com", acme=["good.example.com", "fresh.example.com"])
    waiting = [
        {"name": "good-1", "namespace": "apps", "dns_name": "good.example.com", "key": "key-published",
         "wildcard": False, "waiting_seconds": 900, "reason": "Waiting for DNS-01 challenge propagation"},
        {"name": "fresh-1", "namespace": "apps", "dns_name": "fresh.example.com", "key": "key-missing",
         "wildcard": False, "waiting_seconds": 900, "reason": None},
    ]
    out = analyze_world(dns, tls, http, facts(world, "good.example.com", acme_challenges=waiting))
    found = {f.evidence["record"]: f for f in out.findings if f.code == "cert-dns01-propagation-wait"}
    label = world["auth"].label
    assert found["_acme-challenge.good.example.com"].evidence["key_present_at"] == [label]
    assert f"is at all 1 authoritative servers ({label}) with the key" in found["_acme-challenge.good.example.com"].message
    assert found["_acme-challenge.fresh.example.com"].evidence["key_missing_at"] == [label]
    # The record missing at the servers is the specific cause: it comes first, and is kept.
    waits = [f.evidence["record"] for f in out.findings if f.code == "cert-dns01-propagation-wait"]
    assert waits[0] == "_acme-challenge.fresh.example.com"
    # The served certificate is fine, so a stuck renewal is a warning.
    assert {f.severity for f in found.values()} == {"warning"}
    recent = [dict(c, waiting_seconds=30) for c in waiting]
    out = analyze_world(dns, tls, http, facts(world, "good.example.com", acme_challenges=recent))
    assert not [f for f in out.findings if f.code == "cert-dns01-propagation-wait"]


def test_stale_served_certificate(world):
    ca = world["ca"]
    newer = ca.leaf(["good.example.com"], not_before=NOW - dt.timedelta(hours=1))
    out, codes = judge(world, "good.example.com", listener_secret_pem=newer.fullchain_pem)
    f = codes["cert-stale-served"]
    assert f.evidence["secret_serial"] == format(newer.cert.serial_number, "x")
    assert f.severity == "warning"  # what is served still works
    served = world["issued"]["good.example.com"]
    _, codes = judge(world, "good.example.com", listener_secret_pem=served.fullchain_pem)
    assert "cert-stale-served" not in codes
    # Expired at the edge, fresh in the Secret: staleness is the cause, expiry its symptom.
    fresh = ca.leaf(["expired.example.com"], not_before=NOW - dt.timedelta(hours=1))
    _, codes = judge(world, "expired.example.com", {"gateway": ("127.0.0.63",)}, expected_addresses=["127.0.0.63"],
                     listener_secret_pem=fresh.fullchain_pem)
    assert codes["cert-stale-served"].severity == "critical"
    assert codes["cert-expired"].explained_by == "cert-stale-served"


def test_proxy_protocol_signature(world):
    out, codes = judge(world, "pp.example.com", {"gateway": ("127.0.0.68",), "proxy": True},
                       expected_addresses=["127.0.0.68"], proxy_protocol={"envoy_expects": None, "lb_sends": False})
    f = codes["proxy-protocol-mismatch"]
    assert "Envoy expects PROXY protocol" in f.message and "does not send it" in f.message
    assert out.nodes["load-balancer"].status == "fail"
    # The certificate is still judged from the handshake that carried a PROXY header.
    assert out.nodes["served-certificate"].details.get("note") == "only handshakes preceded by a PROXY header succeeded"
    out, codes = judge(world, "good.example.com", {"proxy": True})
    assert "proxy-protocol-mismatch" not in codes and out.nodes["load-balancer"].status == "pass"
    # Cluster config says the LB sends PROXY while Envoy does not expect it.
    _, codes = judge(world, "good.example.com", proxy_protocol={"envoy_expects": False, "lb_sends": True})
    assert "load balancer sends PROXY protocol" in codes["proxy-protocol-mismatch"].message


def test_resolve_overrides_dns_for_tls_and_http(world):
    host = "wrong.example.com"
    dns, tls, http = probe(world, host, resolve={(host, world["https"]): GW, (host, world["http"]): GW})
    assert {(t["address"], t["source"]) for t in tls} == {(GW, "resolve")}
    assert {(h["scheme"], h["address"], h["source"]) for h in http} == {("http", GW, "resolve"), ("https", GW, "resolve")}


def test_tls_probes_are_capped_at_eight_resolved_addresses(world):
    dns, tls, http = probe(world, "many.example.com", gateway=())
    assert len([t for t in tls if t["source"] == "dns"]) == 8


def test_unreachable_world_is_unknown_not_failed(faults):  # noqa: F811
    silent_dns = faults.silent_udp()
    silent_tcp = faults.tcp("silent")
    plan = ProbePlan(host="app.example.com", nameservers=[silent_dns.server], authoritative=[silent_dns.server],
                     gateway_addresses=[silent_tcp.address], timeout=1.5, probe_timeout=0.5,
                     https_port=silent_tcp.port, http_port=silent_tcp.port)
    dns, tls, http = run_probes(plan)
    assert all(q["error"] for q in dns["queries"])
    assert tls and all(t["error_kind"] in ("timeout", "deadline") for t in tls)
    assert http and all(h["error_kind"] in ("timeout", "deadline") for h in http)
    out = analyze_world(dns, tls, http, EdgeFacts(host="app.example.com", expected_addresses=["127.0.0.1"],
                                                  expected_from="gateway-status", now=NOW.isoformat()))
    assert {n: r.status for n, r in out.nodes.items()} == {
        "dns": "unknown", "served-certificate": "unknown", "http-redirect": "unknown"}
    assert out.findings == []


def test_deadline_turns_slow_probes_into_error_entries(faults):  # noqa: F811
    silent_dns = faults.silent_udp()
    silent_tcp = faults.tcp("silent")
    plan = ProbePlan(host="app.example.com", nameservers=[silent_dns.server], authoritative=[silent_dns.server],
                     gateway_addresses=[silent_tcp.address], timeout=0.6, probe_timeout=30,
                     https_port=silent_tcp.port, http_port=silent_tcp.port)
    dns, tls, http = run_probes(plan)
    errors = [q["error"] for q in dns["queries"]] + [t["error"] for t in tls] + [h["error"] for h in http]
    assert errors and all(errors)
    assert any("deadline passed" in e or "within 0.6 s" in e or "within 0.5 s" in e for e in errors)


def test_replayed_evidence_gives_the_same_answer(world):
    dns, tls, http = probe(world, "a.b.example.com", gateway=("127.0.0.64",))
    f = facts(world, "a.b.example.com", expected_addresses=["127.0.0.64"])
    live = analyze_world(dns, tls, http, f)
    replay = json.loads(json.dumps({"dns": dns, "tls": tls, "http": http}))
    again = analyze_world(replay["dns"], replay["tls"], replay["http"], f)
    assert [x.to_dict() for x in live.findings] == [x.to_dict() for x in again.findings]
    assert {k: v.to_dict() for k, v in live.nodes.items()} == {k: v.to_dict() for k, v in again.nodes.items()}


def test_offline_nodes_are_skipped():
    out = analyze_world(None, None, None, EdgeFacts(host="app.example.com", now=NOW.isoformat()))
    assert {n: r.status for n, r in out.nodes.items()} == {
        "dns": "skip", "served-certificate": "skip", "http-redirect": "skip"}


def test_hand_written_tls_record_is_verified_with_the_ca_bundle(world):
    t = probe_tls("good.example.com", GW, world["https"])
    assert "verification" not in t
    out = analyze_world(None, [t], None, facts(world, "good.example.com"))
    assert out.nodes["served-certificate"].details["certificates"][0]["verification"]["verified"] is True
    out = analyze_world(None, [t], None, facts(world, "good.example.com", ca_bundle_pem=None))
    node = out.nodes["served-certificate"]
    assert node.details["certificates"][0]["verification"]["verified"] is None and node.status == "pass"


# --- pure helpers -------------------------------------------------------------------


def test_txt_and_registry_parsing():
    assert txt_strings('"heritage=external-dns,external-dns/owner=a" ",external-dns/resource=x"') == (
        "heritage=external-dns,external-dns/owner=a,external-dns/resource=x")
    assert txt_strings(r'"a\"b" "c\059"') == 'a"bc;'
    assert parse_registry("heritage=external-dns,external-dns/owner=a,external-dns/resource=httproute/n/r") == {
        "heritage": "external-dns", "owner": "a", "resource": "httproute/n/r"}
    assert parse_registry("v=spf1 -all") is None
    assert parse_registry("heritage=someone-else,external-dns/owner=a") is None


@pytest.mark.parametrize(
    ("records", "wildcard", "allowed"),
    [
        (['0 issue "letsencrypt.org"'], False, True),
        (['0 issue "pki.goog"'], False, False),
        (['0 issue "pki.goog"', '0 issue "letsencrypt.org"'], False, True),
        (['0 issue ";"'], False, False),
        (['0 issue "letsencrypt.org"', '0 issuewild ";"'], True, False),
        (['0 issue "letsencrypt.org"', '0 issuewild ";"'], False, True),
        (['0 issue "pki.goog"', '0 issuewild "letsencrypt.org"'], True, True),
        (['0 issue "letsencrypt.org; validationmethods=http-01"'], False, False),
        (['0 issue "letsencrypt.org; validationmethods=dns-01,http-01"'], False, True),
        (['0 iodef "mailto:x@example.com"'], False, True),
        (['128 tbs "x"', '0 issue "letsencrypt.org"'], False, False),
    ],
)
def test_caa_allows(records, wildcard, allowed):
    assert caa_allows(records, wildcard)[0] is allowed


def test_http_tries_the_gateway_first_then_the_dns_addresses(world):
    # Nothing listens on this "Gateway" address: the request moves on to what DNS gave.
    dns, tls, http = probe(world, "good.example.com", gateway=("127.0.0.79",))
    plain = [h for h in http if h["scheme"] == "http"]
    assert [(h["address"], h["source"], h["error_kind"]) for h in plain] == [
        ("127.0.0.79", "gateway", "refused"), (GW, "dns", None)]
    assert plain[-1]["status"] == 301
    out = analyze_world(dns, tls, http, facts(world, "good.example.com", expected_addresses=[GW]))
    assert out.nodes["http-redirect"].status == "pass"
