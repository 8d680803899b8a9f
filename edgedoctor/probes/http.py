"""The HTTP probe: one request to one address with Host/SNI = host, redirects not followed.

The URL names the address and the Host header and SNI name the host, as `curl --resolve` does.
The redirect verdict (301/308 to https://host/, loops) is made in the analysis.

For https the chain is first verified (system store plus --ca-bundle); when that fails the
request is repeated without verification so the status is still seen, and `verify_error`
says why. The certificate itself is the TLS probe's business.

One GET over a socket of its own, with `Connection: close`, read by the standard library's
response parser (http.client): a probe needs no pool, no redirects and no proxies, and a
general-purpose client (httpx) cost three times the CPU of the request, which bounds how
many hosts a sweep probes a second.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from typing import Any

from edgedoctor.pemcerts import to_alabel
from edgedoctor.probes.guard import check_destination
from edgedoctor.probes.tls import classify_error, unverified_context

HEADERS_KEPT = (
    "server",
    "location",
    "content-type",
    "content-length",
    "cf-ray",
    "cf-cache-status",
    "x-envoy-upstream-service-time",
    "x-envoy-decorator-operation",
    "strict-transport-security",
    "alt-svc",
    "via",
)

BODY_SAMPLE = 512
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/problem", "application/xhtml")
_VERSIONS = {9: "HTTP/0.9", 10: "HTTP/1.0", 11: "HTTP/1.1"}


def _label(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _verify_context(ca_bundle: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if ca_bundle:
        ctx.load_verify_locations(cafile=ca_bundle)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def probe_http(
    host: str,
    address: str,
    *,
    scheme: str = "http",
    port: int | None = None,
    path: str = "/",
    timeout: float = 3.0,
    ca_bundle: str | None = None,
    verify: bool | None = None,
) -> dict[str, Any]:
    """GET scheme://host/path at address:port; never raises for network or protocol failures.

    verify (https only): check the chain against the system store plus `ca_bundle` first and
    record `verify_error`; default: only when a ca_bundle is given. The runner leaves it off,
    since its TLS probe already verifies the served chain and a second handshake would only
    cost time.
    """
    started = time.monotonic()
    result, target = _prepare(host, address, scheme, port, path, timeout, started)
    check = scheme == "https" and (verify if verify is not None else bool(ca_bundle))
    if check:
        result["verify_error"] = None
    try:
        check_destination(address)
    except OSError as e:
        result["error"], result["error_kind"] = str(e), "unreachable"
        result["elapsed_ms"] = 0.0
        return result
    try:
        context: ssl.SSLContext | None = None
        if check:
            try:
                context = _verify_context(ca_bundle)
            except (OSError, ssl.SSLError) as e:
                result["verify_error"] = f"cannot load the CA bundle {ca_bundle}: {e}"
        outcome = _request(result, target, context or unverified_context(), verifying=context is not None)
        if outcome == "verify-failed":
            _request(result, target, unverified_context(), verifying=False)
    finally:
        result["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


def get_on(tls: ssl.SSLSocket, host: str, address: str, port: int, *, timeout: float,
           started: float) -> dict[str, Any]:
    """The same GET (https, not verified) on a TLS connection the caller has already made to
    address:port with SNI = host, its record as `probe_http` gives it; `started` is when the
    caller began connecting, so `elapsed_ms` means the same. The caller keeps the socket.

    The runner's TLS probe asks this before it closes its connection: one handshake then
    serves both probes of an address instead of two. `timeout` is the request's own, from
    now: a slow handshake does not shorten the wait for the answer.
    """
    result, target = _prepare(host, address, "https", port, "/", timeout, time.monotonic())
    try:
        _exchange(result, tls, target)
    except Exception as e:
        result["error_kind"], result["error"] = _classify(e, target, connecting=False)
    finally:
        result["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


def failed_like(tls_record: dict[str, Any], host: str, address: str, port: int) -> dict[str, Any]:
    """The https record when the TLS probe of address:port, on whose connection the GET was
    to ride, could not connect or finish its handshake: a request of its own would meet the
    same failure one probe timeout later, so it is not made; its error is the TLS probe's."""
    result, _ = _prepare(host, address, "https", port, "/", 0.0, time.monotonic())
    result["error_kind"] = tls_record.get("error_kind") or "error"
    result["error"] = tls_record.get("error") or "the TLS handshake failed"
    result["elapsed_ms"] = tls_record.get("elapsed_ms") or 0.0
    return result


def _prepare(host: str, address: str, scheme: str, port: int | None, path: str, timeout: float,
             started: float) -> tuple[dict[str, Any], _Target]:
    """The empty record of one request, and what it will send where."""
    port = port or (443 if scheme == "https" else 80)
    default_port = (scheme == "https" and port == 443) or (scheme == "http" and port == 80)
    host_header = host if default_port else f"{host}:{port}"
    path = path if path.startswith("/") else "/" + path
    result: dict[str, Any] = {
        "url": f"{scheme}://{host_header}{path}",
        "address": address,
        "port": port,
        "scheme": scheme,
        "status": None,
        "location": None,
        "headers": {},
        "body_sample": "",
        "error": None,
        "error_kind": None,
        "elapsed_ms": 0.0,
    }
    target = _Target(address, port, scheme, host, host_header, path, _label(address, port), timeout, started)
    return result, target


class _Target:
    """Where and what one probe asks, and its clock."""

    def __init__(self, address: str, port: int, scheme: str, host: str, host_header: str,
                 path: str, label: str, timeout: float, started: float) -> None:
        self.address, self.port, self.scheme, self.host = address, port, scheme, host
        self.label, self.timeout, self.deadline = label, timeout, started + timeout
        try:
            header = host_header.encode("ascii")
        except UnicodeEncodeError:  # an IDN: the A-label travels, as a browser sends it
            header = host_header.replace(host, to_alabel(host)).encode("ascii", "replace")
        self.request = (b"GET " + path.encode("ascii", "replace") + b" HTTP/1.1\r\nHost: " + header
                        + b"\r\nUser-Agent: edgedoctor\r\nAccept: */*\r\nConnection: close\r\n\r\n")

    def left(self) -> float:
        return max(0.05, self.deadline - time.monotonic())


def _request(result: dict[str, Any], t: _Target, context: ssl.SSLContext, *, verifying: bool) -> str:
    """One GET; fills `result`, returns "ok", "error" or "verify-failed"."""
    https = t.scheme == "https"
    connecting = True  # until the TCP connection (and for https the handshake) is made
    sock: socket.socket | None = None
    try:
        sock = socket.create_connection((t.address, t.port), timeout=t.left())
        if https:
            sock.settimeout(t.left())
            sock = context.wrap_socket(sock, server_hostname=t.host)
        connecting = False
        _exchange(result, sock, t)
        return "ok"
    except Exception as e:
        if verifying and isinstance(e, ssl.SSLCertVerificationError):
            result["verify_error"] = e.verify_message or str(e)
            return "verify-failed"
        result["error_kind"], result["error"] = _classify(e, t, connecting)
        return "error"
    finally:
        if sock is not None:
            sock.close()


def _exchange(result: dict[str, Any], sock: socket.socket, t: _Target) -> None:
    """Send the GET on a connected socket and read the answer into `result` (raises on failure)."""
    sock.settimeout(t.left())
    sock.sendall(t.request)
    response = http.client.HTTPResponse(sock, method="GET")
    try:
        response.begin()
        result["status"] = response.status
        headers = response.headers
        result["location"] = headers.get("location")
        result["headers"] = {k: ", ".join(headers.get_all(k) or []) for k in HEADERS_KEPT if k in headers}
        result["http_version"] = _VERSIONS.get(response.version, f"HTTP/{response.version}")
        ctype = headers.get("content-type", "")
        if not ctype or ctype.lower().startswith(_TEXT_TYPES):
            result["body_sample"] = _sample(response, sock, t)
    finally:
        response.close()
    result["error"], result["error_kind"] = None, None


def _classify(exc: BaseException, t: _Target, connecting: bool) -> tuple[str, str]:
    if isinstance(exc, TimeoutError | socket.timeout):
        if connecting:
            what = "TCP connection or TLS handshake" if t.scheme == "https" else "TCP connection"
            return "timeout", f"timeout: no {what} with {t.label} within {t.timeout:.1f} s"
        return "timeout", f"timeout: no HTTP response from {t.label} within {t.timeout:.1f} s"
    if isinstance(exc, http.client.RemoteDisconnected) or (
        isinstance(exc, http.client.BadStatusLine) and not str(exc).strip("'\"")
    ):
        return "closed", f"{t.label} closed the connection without an HTTP response"
    if isinstance(exc, http.client.HTTPException):
        return "not-http", f"{t.label} did not answer with HTTP: {type(exc).__name__}: {exc}"
    if isinstance(exc, ssl.SSLError | OSError):
        during = "handshake" if connecting and t.scheme == "https" else "request"
        kind, message = classify_error(exc, t.label, during)
        if kind == "timeout":
            return kind, f"timeout talking to {t.label} within {t.timeout:.1f} s"
        return kind, message
    return "error", f"HTTP request to {t.label} failed: {type(exc).__name__}: {exc}"


def _sample(response: http.client.HTTPResponse, sock: socket.socket, t: _Target) -> str:
    """The start of the body: up to BODY_SAMPLE characters, whatever came before the deadline."""
    data = b""
    try:
        while len(data) < BODY_SAMPLE * 4 and time.monotonic() < t.deadline:
            sock.settimeout(t.left())
            chunk = response.read1(BODY_SAMPLE * 4 - len(data))
            if not chunk:
                break
            data += chunk
    except Exception:
        pass  # a body cut short is still a sample
    charset = response.headers.get_content_charset() or "utf-8"
    try:
        text = data.decode(charset, errors="replace")
    except LookupError:
        text = data.decode("utf-8", errors="replace")
    return text[:BODY_SAMPLE]


__all__ = ["probe_http", "HEADERS_KEPT"]
