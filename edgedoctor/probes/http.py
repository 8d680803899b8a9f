"""The HTTP probe: one request to one address with Host/SNI = host, redirects not followed.

The URL names the address and the Host header and SNI name the host, as `curl --resolve` does.
The redirect verdict (301/308 to https://host/, loops) is made in the analysis.

For https the chain is first verified (system store plus --ca-bundle); when that fails the
request is repeated without verification so the status is still seen, and `verify_error`
says why. The certificate itself is the TLS probe's business.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from typing import Any

from edgedoctor.probes.guard import check_destination
from edgedoctor.probes.tls import classify_error

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


def _label(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _root_cause(exc: BaseException) -> BaseException | None:
    seen = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLError | OSError) and not type(cur).__module__.startswith("http"):
            return cur
        cur = cur.__cause__ or cur.__context__
    return None


def _classify(exc: BaseException, label: str, timeout: float, scheme: str) -> tuple[str, str]:
    import httpx

    if isinstance(exc, httpx.ConnectTimeout):
        what = "TCP connection or TLS handshake" if scheme == "https" else "TCP connection"
        return "timeout", f"timeout: no {what} with {label} within {timeout:.1f} s"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout", f"timeout: no HTTP response from {label} within {timeout:.1f} s"
    text = str(exc)
    if isinstance(exc, httpx.RemoteProtocolError):
        if "without sending a response" in text or "disconnected" in text.lower():
            return "closed", f"{label} closed the connection without an HTTP response"
        return "not-http", f"{label} did not answer with HTTP: {text}"
    cause = _root_cause(exc)
    if cause is not None:
        tls_phase = scheme == "https" and isinstance(exc, httpx.ConnectError)
        kind, message = classify_error(cause, label, "handshake" if tls_phase else "request")
        if kind == "timeout":
            return kind, f"timeout talking to {label} within {timeout:.1f} s"
        return kind, message
    lowered = text.lower()
    if "refused" in lowered:
        return "refused", f"connection to {label} refused"
    if "reset" in lowered:
        return "reset", f"{label} reset the connection"
    return "error", f"HTTP request to {label} failed: {type(exc).__name__}: {text}"


def _verify_context(ca_bundle: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if ca_bundle:
        ctx.load_verify_locations(cafile=ca_bundle)
    return ctx


class SharedClient:
    """One httpx client for the unverified requests of a whole sweep (building a client,
    its SSL context and transport, cost more CPU than the request itself).

    Keep-alive is off: the pool is keyed by the URL's address and port, and a connection
    kept open for one host would carry the next host's request under the first one's SNI.
    Every request still opens its own connection, as a check's would.
    """

    def __init__(self) -> None:
        import httpx

        self.client = httpx.Client(verify=False, trust_env=False, follow_redirects=False,
                                   limits=httpx.Limits(max_connections=None, max_keepalive_connections=0))

    def close(self) -> None:
        self.client.close()


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
    client: SharedClient | None = None,
) -> dict[str, Any]:
    """GET scheme://host/path at address:port; never raises for network or protocol failures.

    verify (https only): check the chain against the system store plus `ca_bundle` first and
    record `verify_error`; default: only when a ca_bundle is given. The runner leaves it off,
    since its TLS probe already verifies the served chain and a second handshake would only
    cost time. client: a sweep's SharedClient for the unverified requests.
    """
    started = time.monotonic()
    port = port or (443 if scheme == "https" else 80)
    label = _label(address, port)
    default_port = (scheme == "https" and port == 443) or (scheme == "http" and port == 80)
    host_header = host if default_port else f"{host}:{port}"
    url_host = f"[{address}]" if ":" in address else address
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
        context: Any = False
        if check:
            try:
                context = _verify_context(ca_bundle)
            except (OSError, ssl.SSLError) as e:
                result["verify_error"] = f"cannot load the CA bundle {ca_bundle}: {e}"
                context = False
        outcome = _request(result, f"{scheme}://{url_host}:{port}{path}", host, host_header,
                           context, timeout, started, label, client if context is False else None)
        if outcome == "verify-failed":
            _request(result, f"{scheme}://{url_host}:{port}{path}", host, host_header,
                     False, timeout, started, label)
    finally:
        result["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


def _request(
    result: dict[str, Any],
    url: str,
    host: str,
    host_header: str,
    verify: Any,
    timeout: float,
    started: float,
    label: str,
    shared: SharedClient | None = None,
) -> str:
    import httpx

    left = max(0.05, timeout - (time.monotonic() - started))
    try:
        own = shared is None
        with contextlib.ExitStack() as stack:
            if own:
                client = stack.enter_context(httpx.Client(verify=verify, trust_env=False,
                                                          follow_redirects=False, timeout=httpx.Timeout(left)))
            else:
                client = shared.client
            request = client.build_request(
                "GET",
                url,
                headers={"Host": host_header, "User-Agent": "edgedoctor", "Accept": "*/*"},
                extensions={"sni_hostname": host},
                timeout=httpx.Timeout(left),
            )
            response = client.send(request, stream=True)
            try:
                result["status"] = response.status_code
                result["location"] = response.headers.get("location")
                result["headers"] = {
                    k: response.headers[k] for k in HEADERS_KEPT if k in response.headers
                }
                result["http_version"] = response.http_version
                ctype = response.headers.get("content-type", "")
                if not ctype or ctype.lower().startswith(_TEXT_TYPES):
                    result["body_sample"] = _sample(response, started, timeout)
            finally:
                response.close()
        result["error"], result["error_kind"] = None, None
        return "ok"
    except Exception as e:
        if verify is not False and _is_verify_failure(e):
            result["verify_error"] = _verify_message(e)
            return "verify-failed"
        kind, message = _classify(e, label, timeout, "https" if url.startswith("https:") else "http")
        result["error_kind"], result["error"] = kind, message
        return "error"


def _sample(response: Any, started: float, timeout: float) -> str:
    data = b""
    try:
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) >= BODY_SAMPLE * 4 or time.monotonic() - started > timeout:
                break
    except Exception:
        pass  # a body cut short is still a sample
    charset = response.charset_encoding or "utf-8"
    try:
        text = data.decode(charset, errors="replace")
    except LookupError:
        text = data.decode("utf-8", errors="replace")
    return text[:BODY_SAMPLE]


def _is_verify_failure(exc: BaseException) -> bool:
    cause = _root_cause(exc)
    return isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(exc)


def _verify_message(exc: BaseException) -> str:
    cause = _root_cause(exc)
    if isinstance(cause, ssl.SSLCertVerificationError):
        return cause.verify_message or str(cause)
    return str(exc)


__all__ = ["probe_http", "HEADERS_KEPT"]
