"""BIND 9 (`named`) as an authoritative server for zones a test writes.

BIND only listens on addresses configured on an interface, and loopback here carries
127.0.0.1 alone, so every instance listens on 127.0.0.1 with its own port. Dynamic updates
are allowed from 127.0.0.0/8 (no TSIG: the server lives for one test module on loopback).

A second instance loaded with older data stands in for a recursive resolver that has not
caught up: to the probe it is "a server asked with RD set that answers from its data", which
is exactly what a caching resolver holding stale data looks like from outside.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.update

from tests.servers.common import Process, free_port, require_binary, wait_until

Record = tuple[str, int, str, str]  # (name relative or absolute, ttl, type, value)


def zone_text(
    origin: str,
    records: Iterable[Record] = (),
    *,
    serial: int = 1,
    soa_ttl: int = 300,
    minimum: int = 60,
    ns: Sequence[tuple[str, str]] = (("ns1", "127.0.0.1"),),
) -> str:
    """A zone file: SOA (negative TTL `minimum`), NS records with their addresses, records."""
    origin = origin.rstrip(".")
    lines = [
        f"$ORIGIN {origin}.",
        f"$TTL {soa_ttl}",
        f"@ {soa_ttl} IN SOA ns1.{origin}. hostmaster.{origin}. {serial} 3600 600 86400 {minimum}",
    ]
    for name, address in ns:
        lines.append(f"@ IN NS {name}.{origin}." if "." not in name else f"@ IN NS {name}")
        if "." not in name:
            lines.append(f"{name} IN {'AAAA' if ':' in address else 'A'} {address}")
    for name, ttl, rtype, value in records:
        lines.append(f"{name} {ttl} IN {rtype} {value}")
    return "\n".join(lines) + "\n"


class NamedServer:
    def __init__(
        self,
        workdir: Path,
        zones: dict[str, str],
        *,
        port: int | None = None,
        address: str = "127.0.0.1",
        broken_zones: Sequence[str] = (),
        allow_update: bool = True,
        allow_transfer: bool | None = None,
    ) -> None:
        self.binary = require_binary("named", "Debian package bind9")
        self.workdir = workdir
        self.address = address
        self.port = port or free_port(address)
        self.zones = dict(zones)
        self.broken_zones = list(broken_zones)
        self.allow_update = allow_update
        # None leaves BIND's default; True allows AXFR from loopback, False refuses it.
        self.allow_transfer = allow_transfer
        self.process: Process | None = None

    @property
    def server(self) -> tuple[str, int]:
        return (self.address, self.port)

    @property
    def label(self) -> str:
        return f"{self.address}:{self.port}"

    def _config(self) -> str:
        d = self.workdir
        parts = [
            "options {",
            f'  directory "{d}";',
            f"  listen-on port {self.port} {{ {self.address}; }};",
            "  listen-on-v6 { none; };",
            f'  pid-file "{d}/named.pid";',
            f'  session-keyfile "{d}/session.key";',
            f'  managed-keys-directory "{d}";',
            "  recursion no;",
            "  dnssec-validation no;",
            "  allow-query { any; };",
            "  notify no;",
            "  minimal-responses no;",
            "};",
            "controls { };",  # no rndc: the fixture stops named with a signal
        ]
        update = "allow-update { 127.0.0.0/8; };" if self.allow_update else ""
        if self.allow_transfer is not None:
            update += " allow-transfer { 127.0.0.0/8; };" if self.allow_transfer else " allow-transfer { none; };"
        for zone in self.zones:
            parts.append(f'zone "{zone}" {{ type primary; file "{d}/{zone}.zone"; {update} }};')
        for zone in self.broken_zones:
            parts.append(f'zone "{zone}" {{ type primary; file "{d}/{zone}.zone"; }};')
        return "\n".join(parts) + "\n"

    def start(self, ready_timeout: float = 15.0) -> NamedServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for zone, text in self.zones.items():
            (self.workdir / f"{zone}.zone").write_text(text)
        for zone in self.broken_zones:
            # A zone that cannot load: named answers SERVFAIL for every name in it.
            (self.workdir / f"{zone}.zone").write_text(f"$ORIGIN {zone}.\n@ IN SOA this is not a zone\n")
        conf = self.workdir / "named.conf"
        conf.write_text(self._config())
        self.process = Process([self.binary, "-g", "-n", "1", "-c", str(conf)], self.workdir / "named.log")
        probe_zone = next(iter(self.zones), None)
        wait_until(lambda: self._answers(probe_zone), ready_timeout, f"named on {self.label}",
                   self.workdir / "named.log", self.process.proc)
        return self

    def _answers(self, zone: str | None) -> bool:
        q = dns.message.make_query(zone or "version.bind.", "SOA")
        q.flags &= ~dns.flags.RD
        r = dns.query.udp(q, self.address, port=self.port, timeout=0.3)
        return zone is None or (r.rcode() == dns.rcode.NOERROR and bool(r.answer))

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def update(
        self,
        zone: str,
        *,
        add: Iterable[Record] = (),
        replace: Iterable[Record] = (),
        delete: Iterable[tuple[str, str]] = (),
    ) -> None:
        """RFC 2136 update, as external-dns (rfc2136 provider) or cert-manager would send it."""
        upd = dns.update.UpdateMessage(zone)
        for name, ttl, rtype, value in replace:
            upd.replace(name, ttl, rtype, value)
        for name, ttl, rtype, value in add:
            upd.add(name, ttl, rtype, value)
        for name, rtype in delete:
            upd.delete(name, rtype)
        response = dns.query.tcp(upd, self.address, port=self.port, timeout=3)
        if response.rcode() != dns.rcode.NOERROR:
            raise RuntimeError(f"update of {zone} refused: {dns.rcode.to_text(response.rcode())}")
