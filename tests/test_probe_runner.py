"""The runner's https request rides on the TLS probe's connection: one handshake per address
serves both records, and a failed handshake is not tried a second time."""

from __future__ import annotations

import pytest

from edgedoctor.probes.runner import ProbePlan, run_probes
from tests.servers.faults import DelayedTLS
from tests.servers.fixtures import faults, test_ca  # noqa: F401 - pytest fixtures
from tests.servers.pki import TestCA, cert_pem

pytestmark = pytest.mark.servers

HOST = "app.example.com"


def plan(address: str, https_port: int, http_port: int, **kw) -> ProbePlan:
    # No DNS server at all: the Gateway's address is the only one, so what is counted
    # below is the probes' own connections.
    return ProbePlan(host=HOST, nameservers=[], authoritative=[], gateway_addresses=[address],
                     https_port=https_port, http_port=http_port, **kw)


def test_one_handshake_serves_the_tls_record_and_the_https_request(test_ca: TestCA, tmp_path):  # noqa: F811
    issued = test_ca.leaf([HOST])
    crt, key = issued.write(tmp_path, "edge")
    with DelayedTLS(crt, key, delay=0.0) as https, DelayedTLS(None, None, delay=0.0, status=301) as http:
        dns, tls, records = run_probes(plan("127.0.0.1", https.port, http.port, timeout=5, probe_timeout=2))
        assert https.accepted == 1  # the TLS probe's connection, and no other
        assert http.accepted == 1
    assert [(t["address"], t["ok"], t["chain_source"]) for t in tls] == [("127.0.0.1", True, "handshake")]
    assert tls[0]["chain_pem"] == [issued.pem, cert_pem(issued.chain[0])]
    by_scheme = {r["scheme"]: r for r in records}
    assert by_scheme["https"]["status"] == 200 and by_scheme["https"]["error"] is None
    assert by_scheme["https"]["source"] == "gateway" and by_scheme["https"]["address"] == "127.0.0.1"
    assert by_scheme["https"]["body_sample"] == "ok\n"
    assert by_scheme["https"]["url"] == f"https://{HOST}:{https.port}/"
    assert by_scheme["http"]["status"] == 301 and by_scheme["http"]["location"] == f"https://{HOST}/"


def test_the_proxy_variant_does_not_carry_the_request(test_ca: TestCA, tmp_path):  # noqa: F811
    crt, key = test_ca.leaf([HOST]).write(tmp_path, "edge")
    with DelayedTLS(crt, key, delay=0.0) as https, DelayedTLS(None, None, delay=0.0) as http:
        _, tls, records = run_probes(plan("127.0.0.1", https.port, http.port, timeout=5, probe_timeout=2,
                                          proxy_protocol_check=True))
        assert https.accepted == 2  # the plain handshake (with the GET) and the PROXY variant
    assert sorted((t["proxy_protocol"], t["ok"]) for t in tls) == [(False, True), (True, False)]
    assert [r["status"] for r in records if r["scheme"] == "https"] == [200]


def test_a_failed_handshake_is_not_repeated_by_the_request(faults):  # noqa: F811
    silent = faults.tcp("silent")
    _, tls, records = run_probes(plan(silent.address, silent.port, silent.port, timeout=3, probe_timeout=0.5))
    https = [r for r in records if r["scheme"] == "https"]
    assert len(https) == 1 and https[0]["status"] is None
    assert https[0]["error_kind"] == tls[0]["error_kind"] == "timeout"
    # The TLS probe's own words: the request was not sent again to wait out a second timeout.
    assert https[0]["error"] == tls[0]["error"]
    assert https[0]["url"] == f"https://{HOST}:{silent.port}/"
