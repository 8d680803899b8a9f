"""Small misbehaving servers on loopback: the faults real servers are hard to make on demand.

Each runs in daemon threads and stop() closes its sockets. Kinds:
  SilentUDP       reads DNS questions and never answers
  TCPFault        "silent" (accepts, never sends), "garbage" (random bytes), "reset" (RST on
                  accept), "close" (reads, then closes cleanly)
  DNSResponder    answers DNS over UDP and TCP with a handler, optionally after a delay
  DelayedTLS      waits, then does a TLS handshake and answers HTTP (for the deadline benchmark)
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

import dns.message
import dns.rcode

from tests.servers.common import free_port


class _Base:
    def __init__(self) -> None:
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    def _thread(self, target: Callable[..., None], *args: object) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)
        t.start()
        self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        for s in list(self._sockets):
            with contextlib.suppress(OSError):
                s.close()
        for t in self._threads:
            t.join(timeout=1)

    def __enter__(self):  # noqa: ANN204
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SilentUDP(_Base):
    def __init__(self, address: str = "127.0.0.1", port: int | None = None) -> None:
        super().__init__()
        self.address = address
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, port or 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.2)
        self._sockets.append(self.sock)
        self.received = 0
        self._thread(self._run)

    @property
    def server(self) -> tuple[str, int]:
        return (self.address, self.port)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sock.recvfrom(4096)
                self.received += 1
            except (TimeoutError, OSError):
                continue


class TCPFault(_Base):
    def __init__(self, behaviour: str, address: str = "127.0.0.1", port: int | None = None) -> None:
        if behaviour not in ("silent", "garbage", "reset", "close"):
            raise ValueError(behaviour)
        super().__init__()
        self.behaviour = behaviour
        self.address = address
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((address, port or 0))
        self.lsock.listen(16)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self._sockets.append(self.lsock)
        self._thread(self._accept)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.lsock.accept()
            except (TimeoutError, OSError):
                continue
            self._sockets.append(conn)
            self._thread(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.behaviour == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
                return
            if self.behaviour == "silent":
                self._stop.wait()
                return
            conn.settimeout(2)
            with contextlib.suppress(OSError):
                conn.recv(4096)
            if self.behaviour == "garbage":
                # Not TLS, not HTTP: what a misrouted port or a broken middlebox sends.
                conn.sendall(b"\x00\xff" + os.urandom(600))
                time.sleep(0.05)
            conn.close()
        except OSError:
            pass


Handler = Callable[[dns.message.Message], dns.message.Message | None]


def servfail(query: dns.message.Message) -> dns.message.Message:
    r = dns.message.make_response(query)
    r.set_rcode(dns.rcode.SERVFAIL)
    return r


class DNSResponder(_Base):
    """A DNS server over UDP and TCP whose answers come from `handler` (None = no answer)."""

    def __init__(self, handler: Handler, address: str = "127.0.0.1", delay: float = 0.0) -> None:
        super().__init__()
        self.handler, self.address, self.delay = handler, address, delay
        self.port = free_port(address)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((address, self.port))
        self.udp.settimeout(0.2)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((address, self.port))
        self.tcp.listen(16)
        self.tcp.settimeout(0.2)
        self._sockets += [self.udp, self.tcp]
        self._thread(self._udp_loop)
        self._thread(self._tcp_loop)

    @property
    def server(self) -> tuple[str, int]:
        return (self.address, self.port)

    def _answer(self, wire: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except Exception:
            return None
        if self.delay:
            time.sleep(self.delay)
        response = self.handler(query)
        return response.to_wire() if response is not None else None

    def _udp_loop(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self.udp.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            self._thread(self._udp_reply, wire, peer)

    def _udp_reply(self, wire: bytes, peer: tuple[str, int]) -> None:
        out = self._answer(wire)
        if out is not None:
            with contextlib.suppress(OSError):
                self.udp.sendto(out, peer)

    def _tcp_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except (TimeoutError, OSError):
                continue
            self._thread(self._tcp_serve, conn)

    def _tcp_serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(2)
            try:
                size = struct.unpack("!H", _recv_exact(conn, 2))[0]
                out = self._answer(_recv_exact(conn, size))
                if out is not None:
                    conn.sendall(struct.pack("!H", len(out)) + out)
            except (OSError, struct.error):
                pass


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise OSError("short read")
        data += chunk
    return data


class DelayedTLS(_Base):
    """Waits `delay` after accepting, then speaks TLS (or plain HTTP when cert_file is None)
    and answers any request with `status` (a redirect to https://<Host>/ for 3xx)."""

    def __init__(self, cert_file: Path | None, key_file: Path | None, address: str = "127.0.0.1",
                 delay: float = 0.3, status: int = 200) -> None:
        super().__init__()
        self.address, self.delay, self.status = address, delay, status
        self.accepted = 0  # connections taken, for tests that count them
        self.ctx: ssl.SSLContext | None = None
        if cert_file is not None:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(str(cert_file), str(key_file))
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((address, 0))
        self.lsock.listen(32)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self._sockets.append(self.lsock)
        self._thread(self._accept)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.lsock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            self._thread(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        try:
            time.sleep(self.delay)
            conn.settimeout(3)
            stream = self.ctx.wrap_socket(conn, server_side=True) if self.ctx else conn
            with stream:
                data = stream.recv(4096)
                if data:
                    body = b"ok\n"
                    host = next((line.split(b":", 1)[1].strip().split(b":")[0].decode()
                                 for line in data.split(b"\r\n") if line.lower().startswith(b"host:")), "")
                    location = f"Location: https://{host}/\r\n" if 300 <= self.status < 400 else ""
                    stream.sendall(
                        f"HTTP/1.1 {self.status} X\r\nContent-Type: text/plain\r\n{location}"
                        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
                    )
        except (OSError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()
