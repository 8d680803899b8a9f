"""The TLS probe: connect to one address with SNI = host and capture what is served.

Nothing is verified during the handshake, so an expired, staging or wrong certificate is still
captured; the verdict on the chain is made afterwards (`verify_served`).

The served chain comes from the handshake itself: OpenSSL keeps the peer's chain as sent, and
CPython's `_ssl` module has returned it since 3.10 (`get_unverified_chain`, public on
SSLSocket from 3.13, on the private SSL object before). Only an interpreter without it (a
build that lacks the method) makes a second handshake capped at TLS 1.2, where the server's
Certificate message still travels in clear, and reads the chain from the bytes (ssl.MemoryBIO
drives the handshake, a few lines of record parsing read it); if that server refuses TLS 1.2
the record holds the leaf alone, with `chain_source: "leaf-only"`. One handshake instead of
two halved the TLS probe's CPU, which is what bounds a sweep of hundreds of hosts.
"""

from __future__ import annotations

import _ssl
import contextlib
import datetime as _dt
import errno
import functools
import os
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from edgedoctor import pemcerts as certs
from edgedoctor.probes.guard import DestinationRefused, check_destination

_NOT_TLS_REASONS = (
    "WRONG_VERSION_NUMBER",
    "UNKNOWN_PROTOCOL",
    "RECORD_LAYER_FAILURE",
    "PACKET_LENGTH_TOO_LONG",
    "HTTP_REQUEST",
    "HTTPS_PROXY_REQUEST",
    "BAD_RECORD_TYPE",
    "UNEXPECTED_RECORD",
    "WRONG_SSL_VERSION",
    "UNSUPPORTED_PROTOCOL",
    "RECORD_TOO_LARGE",
    "ENCRYPTED_LENGTH_TOO_LONG",
    "BAD_PACKET_LENGTH",
    "UNEXPECTED_MESSAGE",
)


# Whether the handshake gives the served chain (see the module's docstring); a test turns it
# off to exercise the clear-text TLS 1.2 reading.
HANDSHAKE_CHAIN = hasattr(_ssl._SSLSocket, "get_unverified_chain")


def proxy_v1_header(sock: socket.socket) -> bytes:
    """The PROXY protocol v1 line a load balancer would prepend for this connection."""
    src, dst = sock.getsockname(), sock.getpeername()
    family = "TCP6" if sock.family == socket.AF_INET6 else "TCP4"
    return f"PROXY {family} {src[0]} {dst[0]} {src[1]} {dst[1]}\r\n".encode("ascii")


@functools.lru_cache(maxsize=2)
def _context(max_tls12: bool = False) -> ssl.SSLContext:
    """One client context per kind, shared by every probe (making one and its defaults costs
    about as much CPU as the handshake); nothing in it carries a session from one probe to
    the next, since no probe passes `session=`."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    # What the runner's https GET on this connection speaks (and what a client without h2
    # offers); the certificate served does not depend on it.
    ctx.set_alpn_protocols(["http/1.1"])
    if max_tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def unverified_context() -> ssl.SSLContext:
    """The shared client context that verifies nothing (the HTTP probe's unverified requests
    use it too: one context, one ALPN, for both probes of an address)."""
    return _context()


def classify_error(exc: BaseException, label: str, during: str = "handshake") -> tuple[str, str]:
    """(error_kind, one-line message) for a connect, handshake or request failure.

    `during` names the phase for the message: "handshake" (TLS), "connection" or "request".
    """
    phase = "the TLS handshake" if during == "handshake" else f"the {during}"
    if isinstance(exc, DestinationRefused):
        return "unreachable", str(exc)
    if isinstance(exc, ssl.SSLEOFError) or (
        isinstance(exc, ssl.SSLError) and "UNEXPECTED_EOF" in str(exc)
    ):
        return "closed", f"{label} closed the connection during the TLS handshake"
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", None) or ""
        text = f"{reason} {exc}".upper()
        if any(r in text for r in _NOT_TLS_REASONS):
            return "not-tls", f"{label} did not answer with TLS ({reason or exc})"
        return "handshake", f"TLS handshake with {label} failed: {reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "refused", f"connection to {label} refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return "reset", f"{label} reset the connection during {phase}"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timeout", f"timeout: {label} did not finish {phase} in time"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL):
        return "unreachable", f"{label} is unreachable: {exc.strerror}"
    if isinstance(exc, OSError):
        return "closed", f"connection to {label} failed during {phase}: {exc.strerror or exc}"
    return "handshake", f"{phase} with {label} failed: {type(exc).__name__}: {exc}"


def _label(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _connect(address: str, port: int, timeout: float, proxy_protocol: bool) -> socket.socket:
    check_destination(address)
    sock = socket.create_connection((address, port), timeout=timeout)
    try:
        sock.settimeout(timeout)
        if proxy_protocol:
            sock.sendall(proxy_v1_header(sock))
    except BaseException:
        sock.close()
        raise
    return sock


def probe_tls(
    host: str,
    address: str,
    port: int = 443,
    *,
    timeout: float = 3.0,
    proxy_protocol: bool = False,
    on_connection: Callable[[ssl.SSLSocket, float], None] | None = None,
) -> dict[str, Any]:
    """One TLS handshake to address:port with SNI = host; never raises for network failures.

    on_connection: called after a handshake that succeeded, with the TLS socket and the time
    the probe started, before the connection is closed (the runner sends its https GET on it);
    what it raises is its own business and never changes this record.
    """
    started = time.monotonic()
    label = _label(address, port)
    result: dict[str, Any] = {
        "address": address,
        "port": port,
        "sni": host,
        "proxy_protocol": proxy_protocol,
        "ok": False,
        "error": None,
        "error_kind": None,
        "chain_pem": [],
        "chain_source": None,
        "protocol": None,
        "cipher": None,
        "elapsed_ms": 0.0,
    }
    deadline = started + timeout
    try:
        try:
            sock = _connect(address, port, timeout, proxy_protocol)
        except Exception as e:
            result["error_kind"], result["error"] = classify_error(e, label, "connection")
            if result["error_kind"] == "timeout":
                result["error"] = f"timeout: no TCP connection to {label} within {timeout:.1f} s"
            return result
        sniffed_chain = _chain_alongside(host, address, port, deadline, proxy_protocol)
        tls: ssl.SSLSocket | None = None
        try:
            tls = _context().wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
            leaf, chain_der = _handshake(tls, deadline, result)
        except Exception as e:
            kind, message = classify_error(e, label)
            if kind == "timeout":
                message = f"timeout: no TLS handshake with {label} within {timeout:.1f} s"
            result["error_kind"], result["error"] = kind, message
            return result
        finally:
            if not result["ok"]:
                for opened in (tls, sock):
                    if opened is not None:
                        with contextlib.suppress(OSError):
                            opened.close()
        result["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
        try:
            if on_connection is not None:
                on_connection(tls, started)
        except Exception:
            pass  # the caller's request records its own failure
        finally:
            with contextlib.suppress(OSError):
                tls.close()
        if not chain_der:
            other = sniffed_chain()
            # The second connection can reach another backend: its chain counts only when it
            # starts with the leaf this handshake got.
            if other and other[0] == leaf:
                chain_der, result["chain_source"] = other, "tls1.2-handshake"
            else:
                chain_der, result["chain_source"] = ([leaf] if leaf else []), "leaf-only"
        result["chain_pem"] = [certs.der_to_pem(d) for d in chain_der if d]
        return result
    finally:
        if not result["ok"]:
            result["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)


def _chain_alongside(host: str, address: str, port: int, deadline: float,
                     proxy_protocol: bool) -> Callable[[], list[bytes]]:
    """Start the clear-text TLS 1.2 handshake that yields the chain before Python 3.13
    (which cannot give the verified handshake's chain); the function returned waits for
    its chain until the deadline ([] when there is none).

    It runs alongside the real handshake, so a slow server costs one handshake time, not two.
    """
    if HANDSHAKE_CHAIN:
        return list
    sniffed: dict[str, list[bytes] | None] = {}
    sniffer = threading.Thread(
        target=lambda: sniffed.__setitem__("chain", _tls12_chain(host, address, port, deadline, proxy_protocol)),
        name="edgedoctor-tls12", daemon=True)
    sniffer.start()

    def chain() -> list[bytes]:
        sniffer.join(max(0.0, deadline - time.monotonic()))
        return sniffed.get("chain") or []

    return chain


def _handshake(tls: ssl.SSLSocket, deadline: float,
               result: dict[str, Any]) -> tuple[bytes | None, list[bytes]]:
    """The TLS handshake (raises on failure): the leaf and, where the interpreter gives it,
    the chain; `result` gets the protocol, the cipher and ok."""
    tls.settimeout(max(0.05, deadline - time.monotonic()))
    tls.do_handshake()
    leaf = tls.getpeercert(binary_form=True)
    result["protocol"] = tls.version()
    cipher = tls.cipher()
    result["cipher"] = cipher[0] if cipher else None
    chain_der = _handshake_chain(tls) if HANDSHAKE_CHAIN else []
    if chain_der:
        result["chain_source"] = "handshake"
    result["ok"] = True
    return leaf, chain_der


def _handshake_chain(tls: ssl.SSLSocket) -> list[bytes]:
    """The chain as the server sent it, leaf first, in DER ([] when not available)."""
    sslobj = getattr(tls, "_sslobj", None)
    getter = getattr(sslobj, "get_unverified_chain", None)
    try:
        chain = getter() if getter is not None else None
    except (ssl.SSLError, ValueError):
        return []
    # 3.13's public wrapper gives bytes; the private object gives _ssl.Certificate.
    return [c if isinstance(c, bytes) else c.public_bytes(_ssl.ENCODING_DER) for c in chain or []]


class _CertificateSniffer:
    """Reads TLS records from the server and keeps the first Certificate handshake message."""

    def __init__(self) -> None:
        self.records = b""
        self.handshake = b""
        self.chain: list[bytes] | None = None
        self.done = False

    def feed(self, data: bytes) -> None:
        self.records += data
        while not self.done and len(self.records) >= 5:
            ctype = self.records[0]
            length = int.from_bytes(self.records[3:5], "big")
            if len(self.records) < 5 + length:
                return
            payload = self.records[5 : 5 + length]
            self.records = self.records[5 + length :]
            if ctype == 22:
                self.handshake += payload
                self._messages()
            elif ctype in (20, 21, 23):
                # ChangeCipherSpec, an alert or application data: no clear Certificate follows.
                self.done = True

    def _messages(self) -> None:
        while len(self.handshake) >= 4 and not self.done:
            mtype = self.handshake[0]
            length = int.from_bytes(self.handshake[1:4], "big")
            if len(self.handshake) < 4 + length:
                return
            body = self.handshake[4 : 4 + length]
            self.handshake = self.handshake[4 + length :]
            if mtype == 11:
                self.chain = self._parse_certificates(body)
                self.done = True
            elif mtype == 14:  # ServerHelloDone without a Certificate
                self.done = True

    @staticmethod
    def _parse_certificates(body: bytes) -> list[bytes]:
        out: list[bytes] = []
        if len(body) < 3:
            return out
        total = int.from_bytes(body[:3], "big")
        pos, end = 3, min(len(body), 3 + total)
        while pos + 3 <= end:
            n = int.from_bytes(body[pos : pos + 3], "big")
            pos += 3
            out.append(body[pos : pos + n])
            pos += n
        return out


def _tls12_chain(
    host: str, address: str, port: int, deadline: float, proxy_protocol: bool
) -> list[bytes] | None:
    """The server's chain from a TLS 1.2 handshake, read off the wire; None if unavailable."""
    left = deadline - time.monotonic()
    if left <= 0.05:
        return None
    try:
        sock = _connect(address, port, left, proxy_protocol)
    except Exception:
        return None
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    sniffer = _CertificateSniffer()
    try:
        obj = _context(max_tls12=True).wrap_bio(incoming, outgoing, server_hostname=host)
        while not sniffer.done:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                pass
            pending = outgoing.read()
            if pending:
                sock.sendall(pending)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            sock.settimeout(left)
            data = sock.recv(65536)
            if not data:
                break
            sniffer.feed(data)
            incoming.write(data)
    except Exception:
        pass
    finally:
        sock.close()
    return [c for c in sniffer.chain or [] if c] or None


@functools.lru_cache(maxsize=4)
def _system_roots(cafile: str | None) -> tuple[Any, ...]:
    paths = ssl.get_default_verify_paths()
    candidates = [cafile] if cafile else [
        os.environ.get("SSL_CERT_FILE"),
        paths.cafile,
        paths.openssl_cafile,
        "/etc/ssl/certs/ca-certificates.crt",
    ]
    for path in candidates:
        if path and os.path.isfile(path):
            try:
                with open(path, encoding="ascii", errors="replace") as f, warnings.catch_warnings():
                    # Some distribution roots have a non-positive serial; cryptography warns.
                    warnings.simplefilter("ignore")
                    return tuple(certs.load_pems(f.read()))
            except OSError:
                continue
    return ()


@functools.lru_cache(maxsize=8)
def _trust_store(ca_bundle_pem: str | None, use_system_store: bool) -> Any:
    """The verifier's store of the system roots plus the bundle, built once per bundle: building
    it from ~150 roots costs more than verifying a chain (a sweep verifies one per host)."""
    roots = list(_system_roots(None)) if use_system_store else []
    roots += certs.load_pems(ca_bundle_pem)
    return certs.trust_store(roots)


def verify_served(
    chain_pem: Sequence[str],
    host: str,
    *,
    ca_bundle_pem: str | None = None,
    use_system_store: bool = True,
    now: _dt.datetime | None = None,
) -> dict[str, Any]:
    """Verify a served chain against the system store plus --ca-bundle (this reads files)."""
    roots = _trust_store(ca_bundle_pem, use_system_store)
    trust = "+".join(
        p for p, on in (("system", use_system_store), ("ca-bundle", bool(ca_bundle_pem))) if on
    ) or "none"
    out = certs.verify_chain(chain_pem, host, roots, now or _dt.datetime.now(_dt.timezone.utc))
    out["trust"] = trust
    return out
