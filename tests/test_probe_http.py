"""The HTTP probe against nginx (redirects, Host/SNI routing) and broken servers; --resolve."""

from __future__ import annotations

import pytest

from edgedoctor.probes.http import probe_http
from edgedoctor.probes.runner import parse_resolve
from tests.servers.common import free_port
from tests.servers.fixtures import faults, nginx_factory, test_ca, write_ca_bundle  # noqa: F401
from tests.servers.pki import TestCA

pytestmark = pytest.mark.servers

ADDR = "127.0.0.50"
PROXY_ADDR = "127.0.0.51"


@pytest.fixture(scope="module")
def site(nginx_factory, test_ca: TestCA, tmp_path_factory):  # noqa: F811
    ng = nginx_factory()
    http_port = free_port(ADDR, udp=False)
    https_port = free_port(ADDR, udp=False)
    ng.http_site((ADDR, http_port), ["app.example.com"], default=True)
    ng.http_site((ADDR, http_port), ["plain.example.com"], redirect=None, body="hello over http")
    ng.tls_site((ADDR, https_port), ["app.example.com"], test_ca.leaf(["app.example.com"]), default=True,
                body="the app")
    ng.tls_site((ADDR, https_port), ["loop.example.com"], test_ca.leaf(["loop.example.com"]),
                redirect="https://$host$request_uri")
    ng.tls_site((ADDR, https_port), ["odd.example.com"], test_ca.leaf(["other.example.com"]))
    # Tells the SNI the connection was opened with (not the Host header): a connection kept
    # open for one host and reused for another would show.
    ng.tls_site((ADDR, https_port), ["sni-a.example.com", "sni-b.example.com"],
                test_ca.leaf(["sni-a.example.com", "sni-b.example.com"]), redirect="https://$ssl_server_name/")
    ng.http_site((PROXY_ADDR, http_port), ["app.example.com"], default=True, proxy_protocol=True)
    ng.start()
    bundle = write_ca_bundle(tmp_path_factory.mktemp("bundle"), test_ca)
    return {"http": http_port, "https": https_port, "bundle": str(bundle)}


def test_redirect_answer_is_recorded_not_followed(site):
    r = probe_http("app.example.com", ADDR, scheme="http", port=site["http"], timeout=3)
    assert r["error"] is None
    assert r["status"] == 301
    assert r["location"] == "https://app.example.com/"
    assert r["headers"]["server"] == "nginx"
    assert r["url"] == f"http://app.example.com:{site['http']}/"
    assert r["address"] == ADDR and r["port"] == site["http"]


def test_host_header_selects_the_virtual_host(site):
    r = probe_http("plain.example.com", ADDR, scheme="http", port=site["http"], timeout=3)
    assert r["status"] == 200 and r["location"] is None
    assert r["body_sample"] == "hello over http\n"
    assert r["headers"]["content-type"] == "text/plain"


def test_https_with_sni_and_ca_bundle(site):
    r = probe_http("app.example.com", ADDR, scheme="https", port=site["https"], timeout=3, ca_bundle=site["bundle"])
    assert r["status"] == 200 and r["body_sample"] == "the app\n"
    assert r["verify_error"] is None


def test_each_request_opens_its_connection_with_its_own_sni(site):
    # A sweep probes many hosts on one address one after the other: a connection kept for
    # one host and reused for the next would carry the first one's SNI.
    for host in ("sni-a.example.com", "sni-b.example.com", "sni-a.example.com", "app.example.com"):
        r = probe_http(host, ADDR, scheme="https", port=site["https"], timeout=3, verify=False)
        assert r["error"] is None, r["error"]
        if host == "app.example.com":
            assert r["status"] == 200 and r["body_sample"] == "the app\n"
        else:
            assert r["location"] == f"https://{host}/", r


def test_https_redirect_to_itself_is_visible(site):
    r = probe_http("loop.example.com", ADDR, scheme="https", port=site["https"], timeout=3, ca_bundle=site["bundle"])
    assert r["status"] == 301 and r["location"] == "https://loop.example.com/"


def test_unverifiable_certificate_still_gives_the_status(site):
    r = probe_http("odd.example.com", ADDR, scheme="https", port=site["https"], timeout=3, ca_bundle=site["bundle"])
    assert r["status"] == 200
    assert "odd.example.com" in r["verify_error"] or "mismatch" in r["verify_error"].lower()
    # Against the system store alone the test root is unknown.
    system = probe_http("app.example.com", ADDR, scheme="https", port=site["https"], timeout=3, verify=True)
    assert system["status"] == 200 and system["verify_error"]
    # Without verification (the runner's way: the TLS probe verifies) there is no verdict at all.
    plain = probe_http("app.example.com", ADDR, scheme="https", port=site["https"], timeout=3)
    assert plain["status"] == 200 and "verify_error" not in plain


def test_proxy_protocol_listener_drops_a_plain_request(site):
    r = probe_http("app.example.com", PROXY_ADDR, scheme="http", port=site["http"], timeout=3)
    assert r["status"] is None
    assert r["error_kind"] in ("closed", "reset"), r["error"]


@pytest.mark.parametrize(
    ("behaviour", "scheme", "kind"),
    [
        ("garbage", "http", "not-http"),
        ("garbage", "https", "not-tls"),
        ("reset", "http", "reset"),
        ("reset", "https", "reset"),
        ("close", "http", "closed"),
        ("close", "https", "closed"),
        ("silent", "http", "timeout"),
        ("silent", "https", "timeout"),
    ],
)
def test_broken_servers_give_a_clear_error(faults, behaviour, scheme, kind):  # noqa: F811
    server = faults.tcp(behaviour)
    r = probe_http("app.example.com", server.address, scheme=scheme, port=server.port, timeout=0.5)
    assert r["status"] is None
    assert r["error_kind"] == kind, r["error"]
    assert f"{server.address}:{server.port}" in r["error"]


def test_refused():
    port = free_port(udp=False)
    r = probe_http("app.example.com", "127.0.0.1", port=port, timeout=1)
    assert r["error_kind"] == "refused" and r["status"] is None


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("app.example.com:443:127.0.0.1", ("app.example.com", 443, "127.0.0.1")),
        ("App.Example.com.:80:192.0.2.7", ("app.example.com", 80, "192.0.2.7")),
        ("app.example.com:443:[::1]", ("app.example.com", 443, "::1")),
        ("app.example.com:443:::1", ("app.example.com", 443, "::1")),
    ],
)
def test_parse_resolve(spec, expected):
    assert parse_resolve(spec) == expected


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("app.example.com", "expected HOST:PORT:ADDRESS"),
        ("app.example.com:443", "expected HOST:PORT:ADDRESS"),
        (":443:127.0.0.1", "expected HOST:PORT:ADDRESS"),
        ("app.example.com:https:127.0.0.1", "not a number"),
        ("app.example.com:0:127.0.0.1", "outside"),
        ("app.example.com:443:gateway.internal", "not an IP address"),
        ("app.example.com:443:127.0.0.1,127.0.0.2", "one address"),
        ("app example.com:443:127.0.0.1", "not a hostname"),
    ],
)
def test_parse_resolve_rejects(spec, fragment):
    with pytest.raises(ValueError) as e:
        parse_resolve(spec)
    assert fragment in str(e.value) and "\n" not in str(e.value)


def _one_answer(raw: bytes):
    """A server on loopback that answers one connection with `raw` after reading the request."""
    import socket
    import threading

    srv = socket.create_server(("127.0.0.1", 0))
    got: list[bytes] = []

    def serve() -> None:
        conn, _ = srv.accept()
        with conn:
            got.append(conn.recv(4096))
            conn.sendall(raw)
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1], got


def test_a_chunked_body_is_sampled_decoded_in_its_charset():
    body = "Dienst nicht verfügbar".encode("iso-8859-1")
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (body[:9], body[9:])) + b"0\r\n\r\n"
    port, got = _one_answer(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
                            b"Transfer-Encoding: chunked\r\nServer: envoy\r\n\r\n" + chunks)
    r = probe_http("app.example.com", "127.0.0.1", port=port, timeout=3)
    assert r["error"] is None and r["status"] == 503 and r["http_version"] == "HTTP/1.1"
    assert r["body_sample"] == "Dienst nicht verfügbar"
    assert r["headers"] == {"server": "envoy", "content-type": "text/plain; charset=iso-8859-1"}
    request = got[0].decode()
    assert request.startswith("GET / HTTP/1.1\r\n") and f"\r\nHost: app.example.com:{port}\r\n" in request


def test_a_server_speaking_another_protocol_is_not_http():
    port, _ = _one_answer(b"SSH-2.0-OpenSSH_9.6\r\n")
    r = probe_http("app.example.com", "127.0.0.1", port=port, timeout=3)
    assert r["status"] is None and r["error_kind"] == "not-http", r["error"]
    assert f"127.0.0.1:{port} did not answer with HTTP" in r["error"]
