"""The DNS probe against real BIND servers and misbehaving ones."""

from __future__ import annotations

import os
import time

import pytest

from edgedoctor.probes.dns import probe_dns, registered_domain, txt_registry_names
from edgedoctor.probes.runner import parse_server
from tests.servers.common import free_port, port_is_free
from tests.servers.faults import servfail
from tests.servers.fixtures import faults, named_factory  # noqa: F401 - pytest fixtures
from tests.servers.named import zone_text

pytestmark = pytest.mark.servers

BIG_TXT = [("big", 300, "TXT", f'"{i}' + "y" * 190 + '"') for i in range(4)]
EXAMPLE = zone_text(
    "example.com",
    [
        ("app", 300, "A", "127.0.0.20"),
        ("dual", 300, "A", "127.0.0.21"),
        ("dual", 300, "AAAA", "::1"),
        ("www", 300, "CNAME", "app"),
        ("ext", 300, "CNAME", "app.other.org."),
        ("*.wild", 300, "A", "127.0.0.30"),
        ("@", 300, "CAA", '0 issue "letsencrypt.org"'),
        ("locked", 300, "A", "127.0.0.20"),
        ("locked", 300, "CAA", '0 issue "pki.goog"'),
        *BIG_TXT,
    ],
    serial=7,
    minimum=60,
)
OTHER = zone_text("other.org", [("app", 300, "A", "127.0.0.40")])
# The resolver that has not caught up: older serial, old address, no "dual".
STALE = zone_text("example.com", [("app", 120, "A", "127.0.0.99")], serial=6, minimum=60)


@pytest.fixture(scope="module")
def auth(named_factory):  # noqa: F811
    return named_factory({"example.com": EXAMPLE, "other.org": OTHER}, broken_zones=["broken.net"])


@pytest.fixture(scope="module")
def stale(named_factory):  # noqa: F811
    return named_factory({"example.com": STALE})


def by(result, **match):
    return [q for q in result["queries"] if all(q.get(k) == v for k, v in match.items())]


def values(entries, rtype):
    return sorted(rr["value"] for q in entries for rr in q["answer"] if rr["type"] == rtype)


def test_authoritative_and_recursive_views_are_recorded_separately(auth, stale):
    r = probe_dns("App.Example.com.", nameservers=[stale.server], authoritative=[auth.server], timeout=2)
    assert r["zone"] == "example.com"
    assert r["zone_error"] is None
    assert r["soa"]["serial"] == 7 and r["soa"]["minimum"] == 60
    # The apex SOA answer replaces the negative-answer copy, whose TTL is min(TTL, MINIMUM).
    assert r["soa"]["ttl"] == 300 and "from_authority" not in r["soa"]
    assert r["authoritative_servers"] == [{"name": None, "address": "127.0.0.1", "port": auth.port}]
    a_auth = by(r, purpose="address", role="authoritative", qtype="A")
    assert values(a_auth, "A") == ["127.0.0.20"]
    assert all(q["aa"] and q["rcode"] == "NOERROR" and q["server"] == auth.label for q in a_auth)
    a_rec = by(r, purpose="address", role="recursive", qtype="A")
    assert values(a_rec, "A") == ["127.0.0.99"]
    assert a_rec[0]["answer"][0]["ttl"] == 120
    assert by(r, purpose="address", role="authoritative", qtype="AAAA")[0]["answer"] == []


def test_cname_chain_is_followed_hop_by_hop(auth):
    r = probe_dns("ext.example.com", nameservers=[auth.server], authoritative=[auth.server], timeout=2)
    first = by(r, purpose="address", role="authoritative", qtype="A", qname="ext.example.com.")
    assert values(first, "CNAME") == ["app.other.org."]
    # app.other.org is outside the zone: the hop is asked at the resolver and tied to the
    # authoritative answer it continues.
    hops = [q for q in by(r, qname="app.other.org.", qtype="A", chain_role="authoritative")
            if q.get("chain_from") == "ext.example.com."]
    assert [q["chain_server"] for q in hops] == [auth.label]
    assert hops[0]["role"] == "recursive"
    assert values(hops, "A") == ["127.0.0.40"]
    inzone = probe_dns("www.example.com", nameservers=[], authoritative=[auth.server], timeout=2)
    www = by(inzone, purpose="address", qtype="A", qname="www.example.com.")
    # BIND finishes an in-zone chain itself: one answer with both records, no extra hop.
    assert values(www, "CNAME") == ["app.example.com."] and values(www, "A") == ["127.0.0.20"]
    assert not [q for q in inzone["queries"] if q.get("chain_from")] or all(
        q["qtype"] == "AAAA" for q in inzone["queries"] if q.get("chain_from"))


def test_nxdomain_carries_the_soa_for_negative_caching(auth):
    r = probe_dns("missing.example.com", nameservers=[], authoritative=[auth.server], timeout=2)
    a = by(r, purpose="address", qtype="A")[0]
    assert a["rcode"] == "NXDOMAIN" and a["aa"]
    soa = [rr for rr in a["authority"] if rr["type"] == "SOA"]
    assert soa and soa[0]["ttl"] == 60  # min(SOA TTL 300, MINIMUM 60)
    assert r["recursive_servers"] == []


def test_truncated_answer_is_retried_over_tcp(auth):
    r = probe_dns("big.example.com", nameservers=[], authoritative=[auth.server],
                  extra_txt=["big.example.com"], timeout=2)
    txt = by(r, purpose="txt-registry")[0]
    assert txt["tc"] is True and txt["via_tcp"] is True
    assert txt["error"] is None and txt["rcode"] == "NOERROR"
    assert len(txt["answer"]) == 4


def test_refused_for_a_zone_the_server_does_not_serve(auth):
    r = probe_dns("app.nope.io", nameservers=[auth.server], authoritative=[auth.server], timeout=2)
    assert r["zone"] is None
    assert "REFUSED" in r["zone_error"]
    assert {q["rcode"] for q in r["queries"]} == {"REFUSED"}


def test_servfail_from_a_zone_that_failed_to_load(auth):
    r = probe_dns("a.broken.net", nameservers=[auth.server], authoritative=[auth.server], timeout=2)
    assert r["zone"] is None and "SERVFAIL" in r["zone_error"]
    assert by(r, purpose="address", role="authoritative", qtype="A")[0]["rcode"] == "SERVFAIL"


def test_servfail_from_a_server_that_always_fails(faults):  # noqa: F811
    bad = faults.dns(servfail)
    r = probe_dns("app.example.com", nameservers=[bad.server], authoritative=None, timeout=1)
    assert r["zone"] is None and "SERVFAIL" in r["zone_error"]
    assert all(q["rcode"] == "SERVFAIL" and q["error"] is None for q in r["queries"])


def test_unreachable_nameserver_gives_an_error_entry():
    port = free_port()
    r = probe_dns("app.example.com", nameservers=[("127.0.0.1", port)],
                  authoritative=[("127.0.0.1", port)], extra_txt=["a-app.example.com"], timeout=0.5)
    assert r["queries"], "every question must be recorded"
    for q in r["queries"]:
        assert q["rcode"] is None and q["answer"] == []
        assert q["error"].startswith(("refused:", "timeout:")), q["error"]
        assert f"127.0.0.1:{port}" in q["error"]


def test_silent_server_times_out_per_question(faults):  # noqa: F811
    silent = faults.silent_udp()
    r = probe_dns("app.example.com", nameservers=[silent.server], authoritative=[silent.server], timeout=0.3)
    assert r["zone"] is None
    assert r["queries"]
    assert all(q["error"] == f"timeout: no answer from {silent.address}:{silent.port} within 0.3 s"
               for q in r["queries"])
    assert silent.received >= len(r["queries"])


def test_deadline_already_passed_sends_nothing(faults):  # noqa: F811
    silent = faults.silent_udp()
    r = probe_dns("app.example.com", nameservers=[silent.server], authoritative=[silent.server],
                  timeout=2, deadline=time.monotonic() - 1)
    assert r["queries"] and all(q["error"].startswith("deadline passed") for q in r["queries"])
    assert silent.received == 0


def test_wildcard_probe_tells_synthesised_from_real_names(auth):
    masked = probe_dns("x.wild.example.com", nameservers=[], authoritative=[auth.server], timeout=2)
    probes = {q["probe"]: q for q in by(masked, purpose="wildcard-probe")}
    assert probes["sibling"]["qname"].startswith("edgedoctor-") and probes["sibling"]["qname"].endswith(".wild.example.com.")
    assert values([probes["sibling"]], "A") == ["127.0.0.30"]
    # x.wild has no node of its own, so the wildcard also answers below it.
    assert values([probes["child"]], "A") == ["127.0.0.30"]
    real = probe_dns("app.example.com", nameservers=[], authoritative=[auth.server], timeout=2)
    probes = {q["probe"]: q for q in by(real, purpose="wildcard-probe")}
    assert probes["sibling"]["rcode"] == "NXDOMAIN" and probes["child"]["rcode"] == "NXDOMAIN"


def test_registry_and_acme_txt_after_dynamic_update(named_factory):  # noqa: F811
    server = named_factory({"example.com": zone_text("example.com", [("app", 300, "A", "127.0.0.20")])})
    names = txt_registry_names("app.example.com")
    before = probe_dns("app.example.com", nameservers=[], authoritative=[server.server],
                       extra_txt=names, acme_names=["*.app.example.com"], timeout=2)
    assert {q["rcode"] for q in by(before, purpose="txt-registry")} == {"NXDOMAIN", "NOERROR"}
    assert not values(by(before, purpose="txt-registry"), "TXT")
    server.update("example.com", add=[
        ("a-app", 300, "TXT", '"heritage=external-dns,external-dns/owner=default,external-dns/resource=httproute/apps/app"'),
        ("_acme-challenge.app", 60, "TXT", '"token-value"'),
    ])
    after = probe_dns("app.example.com", nameservers=[], authoritative=[server.server],
                      extra_txt=names, acme_names=["*.app.example.com"], timeout=2)
    reg = by(after, purpose="txt-registry", qname="a-app.example.com.")
    assert values(reg, "TXT") == ['"heritage=external-dns,external-dns/owner=default,external-dns/resource=httproute/apps/app"']
    acme = by(after, purpose="acme-challenge")
    # The wildcard's challenge lives at the base name.
    assert [q["qname"] for q in acme] == ["_acme-challenge.app.example.com."]
    assert values(acme, "TXT") == ['"token-value"']
    assert after["soa"]["serial"] > before["soa"]["serial"]


def test_caa_walks_up_to_the_registered_domain(auth):
    r = probe_dns("app.example.com", nameservers=[auth.server], authoritative=[auth.server], timeout=2)
    caa = {q["qname"]: q for q in by(r, purpose="caa")}
    assert set(caa) == {"app.example.com.", "example.com."}
    assert caa["app.example.com."]["answer"] == []
    assert values([caa["example.com."]], "CAA") == ['0 issue "letsencrypt.org"']
    assert all(q["role"] == "authoritative" for q in caa.values())
    locked = probe_dns("locked.example.com", nameservers=[], authoritative=[auth.server], timeout=2)
    assert values(by(locked, purpose="caa", qname="locked.example.com."), "CAA") == ['0 issue "pki.goog"']


def test_aaaa_answers_are_recorded(auth):
    r = probe_dns("dual.example.com", nameservers=[auth.server], authoritative=[auth.server], timeout=2)
    assert values(by(r, purpose="address", role="authoritative", qtype="AAAA"), "AAAA") == ["::1"]
    assert values(by(r, purpose="address", role="recursive", qtype="A"), "A") == ["127.0.0.21"]


def test_on_addresses_reports_progressively(auth):
    seen: list[list[str]] = []
    probe_dns("dual.example.com", nameservers=[auth.server], authoritative=[auth.server], timeout=2,
              on_addresses=lambda a: seen.append(list(a)))
    assert seen and set(seen[-1]) == {"127.0.0.21", "::1"}


def test_discovery_through_ns_records_on_port_53(named_factory):  # noqa: F811
    if os.geteuid() != 0 or not port_is_free("127.0.0.1", 53):
        pytest.skip("needs root and a free 127.0.0.1:53 for the discovered name server")
    # The "resolver" knows the delegation; the server on :53 is the one the NS record names.
    resolver = named_factory({"example.com": zone_text("example.com", [("app", 300, "A", "127.0.0.99")],
                                                       ns=[("ns1", "127.0.0.1")])})
    named_factory({"example.com": zone_text("example.com", [("app", 300, "A", "127.0.0.21")], serial=9)}, port=53)
    r = probe_dns("app.example.com", nameservers=[resolver.server], authoritative=None, timeout=2)
    assert r["zone"] == "example.com"
    assert r["authoritative_servers"] == [{"name": "ns1.example.com.", "address": "127.0.0.1", "port": 53}]
    assert by(r, purpose="ns")[0]["answer"][0]["value"] == "ns1.example.com."
    assert values(by(r, purpose="ns-address"), "A") == ["127.0.0.1"]
    assert values(by(r, purpose="address", role="authoritative", qtype="A"), "A") == ["127.0.0.21"]
    assert values(by(r, purpose="address", role="recursive", qtype="A"), "A") == ["127.0.0.99"]
    assert r["soa"]["serial"] == 9


# --- pure helpers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "kw", "expected"),
    [
        ("app.example.com", {}, ["a-app.example.com", "aaaa-app.example.com", "cname-app.example.com", "app.example.com"]),
        ("app.example.com", {"suffix": "-%{record_type}"},
         ["app-a.example.com", "app-aaaa.example.com", "app-cname.example.com", "app-.example.com"]),
        ("*.example.com", {"prefix": "txt-", "wildcard_replacement": "wild"},
         ["txt-a-wild.example.com", "txt-aaaa-wild.example.com", "txt-cname-wild.example.com", "txt-wild.example.com"]),
        ("app.example.com", {"prefix": "_extdns."},
         ["_extdns.a-app.example.com", "_extdns.aaaa-app.example.com", "_extdns.cname-app.example.com",
          "_extdns.app.example.com"]),
        ("App.Example.com.", {"suffix": "-txt"},
         ["a-app-txt.example.com", "aaaa-app-txt.example.com", "cname-app-txt.example.com", "app-txt.example.com"]),
    ],
)
def test_txt_registry_names(host, kw, expected):
    assert txt_registry_names(host, **kw) == expected


def test_registered_domain():
    assert registered_domain("a.b.example.com") == "example.com"
    assert registered_domain("shop.example.co.uk") == "example.co.uk"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("1.2.3.4", ("1.2.3.4", 53)), ("1.2.3.4:5353", ("1.2.3.4", 5353)), ("[::1]:53", ("::1", 53)),
     ("::1", ("::1", 53)), ("[2001:db8::1]", ("2001:db8::1", 53)), (" 127.0.0.1:8053 ", ("127.0.0.1", 8053))],
)
def test_parse_server(spec, expected):
    assert parse_server(spec) == expected


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [("", "empty"), ("ns1.example.com", "not an IP address"), ("1.2.3.4:dns", "not a number"),
     ("1.2.3.4:0", "outside"), ("1.2.3.4:70000", "outside"), ("[::1", "missing ']'"), ("[::1]x", "expected ':PORT'"),
     ("[1.2.3.4]:53", "brackets are for IPv6"), ("1.2.3:53", "not an IP address")],
)
def test_parse_server_rejects(spec, fragment):
    with pytest.raises(ValueError) as e:
        parse_server(spec)
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_missing_binary_fails_in_ci_and_skips_locally(monkeypatch):
    from tests.servers.common import require_binary

    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="edgedoctor-no-such-server is not installed"):
        require_binary("edgedoctor-no-such-server")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="edgedoctor-no-such-server is not installed"):
        require_binary("edgedoctor-no-such-server")
