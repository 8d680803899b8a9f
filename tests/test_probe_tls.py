"""The TLS probe against nginx serving generated certificates, and against broken servers."""

from __future__ import annotations

import datetime as dt

import pytest

from edgedoctor import pemcerts as certs
from edgedoctor.probes import tls as tls_probe
from edgedoctor.probes.tls import probe_tls, verify_served
from tests.servers.common import free_port
from tests.servers.fixtures import faults, nginx_factory, test_ca  # noqa: F401 - pytest fixtures
from tests.servers.pki import cert_pem

pytestmark = pytest.mark.servers

SITES = "127.0.0.40"
TLS13 = "127.0.0.41"
PROXY = "127.0.0.42"


@pytest.fixture(scope="module")
def edge(nginx_factory, test_ca):  # noqa: F811
    ca = test_ca
    now = dt.datetime.now(dt.timezone.utc)
    port = free_port(SITES, udp=False)
    ng = nginx_factory()
    certs_by_name = {
        "prod.example.com": ca.leaf(["prod.example.com"]),
        "staging.example.com": ca.leaf(["staging.example.com"], issuer=ca.staging),
        "expired.example.com": ca.leaf(["expired.example.com"], not_before=now - dt.timedelta(days=100),
                                       not_after=now - dt.timedelta(days=10)),
        "a.b.example.com": ca.leaf(["*.example.com"]),
        "default": ca.leaf(["other.example.org"]),
    }
    ng.tls_site((SITES, port), [], certs_by_name["default"], default=True)
    for name in ("prod.example.com", "staging.example.com", "expired.example.com", "a.b.example.com"):
        ng.tls_site((SITES, port), [name], certs_by_name[name])
    ng.tls_site((TLS13, port), ["prod.example.com"], certs_by_name["prod.example.com"], default=True,
                protocols="TLSv1.3")
    ng.tls_site((PROXY, port), ["prod.example.com"], certs_by_name["prod.example.com"], default=True,
                proxy_protocol=True)
    ng.start()
    return {"port": port, "certs": certs_by_name, "ca": ca}


def leaf_of(result):
    return certs.load_pems(result["chain_pem"])[0]


def test_full_chain_is_captured_without_verification(edge):
    r = probe_tls("prod.example.com", SITES, edge["port"], timeout=3)
    assert r["ok"] and r["error"] is None and r["error_kind"] is None
    assert r["sni"] == "prod.example.com" and r["protocol"] == "TLSv1.3" and r["cipher"]
    issued = edge["certs"]["prod.example.com"]
    assert r["chain_pem"] == [issued.pem, cert_pem(issued.chain[0])]
    assert r["chain_source"] == "handshake"
    assert "PRIVATE KEY" not in "".join(r["chain_pem"])


@pytest.mark.parametrize(
    ("sni", "check"),
    [
        ("staging.example.com", lambda c: certs.is_staging_issuer(c)),
        ("expired.example.com", lambda c: certs.not_after(c) < dt.datetime.now(dt.timezone.utc)),
        ("a.b.example.com", lambda c: certs.dns_sans(c) == ["*.example.com"]),
        ("unknown.example.com", lambda c: certs.dns_sans(c) == ["other.example.org"]),
    ],
)
def test_bad_certificates_are_still_captured(edge, sni, check):
    r = probe_tls(sni, SITES, edge["port"], timeout=3)
    assert r["ok"], r["error"]
    assert check(leaf_of(r))


@pytest.mark.parametrize(
    ("from_handshake", "address", "source", "full_chain"),
    [
        (True, TLS13, "handshake", True),  # CPython >= 3.10: the handshake gives the chain
        (False, SITES, "tls1.2-handshake", True),  # without it: read in clear over TLS 1.2
        (False, TLS13, "leaf-only", False),  # ... which a TLS 1.3-only server refuses
    ],
)
def test_where_the_served_chain_comes_from(edge, monkeypatch, from_handshake, address, source, full_chain):
    if from_handshake:
        assert tls_probe.HANDSHAKE_CHAIN
    else:
        monkeypatch.setattr(tls_probe, "HANDSHAKE_CHAIN", False)
    r = probe_tls("prod.example.com", address, edge["port"], timeout=3)
    assert r["ok"] and r["chain_source"] == source
    issued = edge["certs"]["prod.example.com"]
    assert r["chain_pem"] == ([issued.pem, cert_pem(issued.chain[0])] if full_chain else [issued.pem])
    if address == TLS13:
        assert r["protocol"] == "TLSv1.3"


def test_proxy_protocol_listener_resets_plain_and_accepts_proxy_header(edge):
    plain = probe_tls("prod.example.com", PROXY, edge["port"], timeout=3)
    assert not plain["ok"] and plain["error_kind"] in ("reset", "closed")
    assert plain["chain_pem"] == []
    with_header = probe_tls("prod.example.com", PROXY, edge["port"], timeout=3, proxy_protocol=True)
    assert with_header["ok"] and with_header["proxy_protocol"] is True
    assert with_header["chain_pem"][0] == edge["certs"]["prod.example.com"].pem


def test_proxy_header_to_a_plain_listener_breaks_the_handshake(edge):
    r = probe_tls("prod.example.com", SITES, edge["port"], timeout=3, proxy_protocol=True)
    assert not r["ok"] and r["error_kind"] in ("not-tls", "handshake", "closed", "reset")


@pytest.mark.parametrize(
    ("behaviour", "kind", "text"),
    [
        ("garbage", "not-tls", "did not answer with TLS"),
        ("reset", "reset", "reset the connection"),
        ("close", "closed", "closed the connection"),
        ("silent", "timeout", "timeout: no TLS handshake"),
    ],
)
def test_broken_servers_give_a_clear_error(faults, behaviour, kind, text):  # noqa: F811
    server = faults.tcp(behaviour)
    r = probe_tls("app.example.com", server.address, server.port, timeout=0.5)
    assert r["ok"] is False
    assert r["error_kind"] == kind, r["error"]
    assert text in r["error"] and f"{server.address}:{server.port}" in r["error"]
    assert r["chain_pem"] == []


def test_refused_port():
    port = free_port(udp=False)
    r = probe_tls("app.example.com", "127.0.0.1", port, timeout=1)
    assert r["error_kind"] == "refused" and r["error"] == f"connection to 127.0.0.1:{port} refused"


def test_verification_is_a_separate_step(edge):
    ca = edge["ca"]
    good = probe_tls("prod.example.com", SITES, edge["port"], timeout=3)
    assert verify_served(good["chain_pem"], "prod.example.com", ca_bundle_pem=ca.root_pem,
                         use_system_store=False) | {"path": None} == {
        "verified": True, "error": None, "trust": "ca-bundle", "path": None}
    # The system store alone does not know the test root.
    assert verify_served(good["chain_pem"], "prod.example.com")["verified"] is False
    expired = probe_tls("expired.example.com", SITES, edge["port"], timeout=3)
    v = verify_served(expired["chain_pem"], "expired.example.com", ca_bundle_pem=ca.root_pem)
    assert v["verified"] is False and v["trust"] == "system+ca-bundle"
    wrong = probe_tls("a.b.example.com", SITES, edge["port"], timeout=3)
    v = verify_served(wrong["chain_pem"], "a.b.example.com", ca_bundle_pem=ca.root_pem)
    assert v["verified"] is False and "subjectAltName" in v["error"]


@pytest.mark.parametrize(
    ("pattern", "host", "covers"),
    [
        ("*.example.com", "a.example.com", True),
        ("*.example.com", "a.b.example.com", False),
        ("*.example.com", "example.com", False),
        ("app.example.com", "APP.example.com.", True),
        ("*.bücher.example", "shop.xn--bcher-kva.example", True),
        ("xn--bcher-kva.example", "bücher.example", True),
        ("a*.example.com", "ab.example.com", False),
    ],
)
def test_rfc6125_name_matching(pattern, host, covers):
    assert certs.name_covers(pattern, host) is covers
