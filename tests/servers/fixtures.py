"""pytest fixtures that start real servers on loopback and stop them at teardown.

Import the ones a test module uses (pytest finds fixtures by name in the module):

    from tests.servers.fixtures import named_factory, nginx_factory, test_ca  # noqa: F401

    def test_x(named_factory):
        auth = named_factory({"example.com": zone_text("example.com", [("app", 300, "A", "127.0.0.20")])})
        probe_dns("app.example.com", nameservers=[], authoritative=[auth.server])

Factories are module-scoped: every server a module starts lives until the module ends, so
tests in one module can share servers by starting them in a module-scoped fixture of their
own. A missing binary fails in CI (CI=true) and skips locally, with the reason.

  named_factory(zones, *, broken_zones=(), port=None) -> NamedServer   (tests/servers/named.py)
  nginx_factory() -> NginxServer (add sites, then .start())            (tests/servers/nginx.py)
  pebble_factory(dns_server) -> PebbleServer (started)                 (tests/servers/pebble.py)
  faults -> FaultFactory: .silent_udp() .tcp("silent"|"garbage"|"reset"|"close") .dns(handler)
  test_ca -> TestCA (root, production-like R11 and staging-like R12 intermediates)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.servers.faults import DNSResponder, SilentUDP, TCPFault
from tests.servers.named import NamedServer
from tests.servers.nginx import NginxServer
from tests.servers.pebble import PebbleServer
from tests.servers.pki import TestCA


@pytest.fixture(scope="session")
def test_ca() -> TestCA:
    return TestCA()


@pytest.fixture(scope="module")
def named_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., NamedServer]]:
    started: list[NamedServer] = []

    def start(zones: dict[str, str], *, broken_zones: Sequence[str] = (), port: int | None = None,
              allow_update: bool = True, allow_transfer: bool | None = None) -> NamedServer:
        workdir = tmp_path_factory.mktemp("named")
        server = NamedServer(workdir, zones, port=port, broken_zones=broken_zones, allow_update=allow_update,
                             allow_transfer=allow_transfer)
        started.append(server)
        return server.start()

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture(scope="module")
def nginx_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], NginxServer]]:
    started: list[NginxServer] = []

    def make() -> NginxServer:
        server = NginxServer(tmp_path_factory.mktemp("nginx"))
        started.append(server)
        return server

    yield make
    for server in reversed(started):
        server.stop()


@pytest.fixture(scope="module")
def pebble_factory(
    tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA
) -> Iterator[Callable[[tuple[str, int]], PebbleServer]]:
    started: list[PebbleServer] = []

    def start(dns_server: tuple[str, int]) -> PebbleServer:
        server = PebbleServer(tmp_path_factory.mktemp("pebble"), test_ca, dns_server)
        started.append(server)
        return server.start()

    yield start
    for server in reversed(started):
        server.stop()


class FaultFactory:
    def __init__(self) -> None:
        self.started: list[Any] = []

    def silent_udp(self, address: str = "127.0.0.1") -> SilentUDP:
        s = SilentUDP(address)
        self.started.append(s)
        return s

    def tcp(self, behaviour: str, address: str = "127.0.0.1") -> TCPFault:
        s = TCPFault(behaviour, address)
        self.started.append(s)
        return s

    def dns(self, handler: Any, address: str = "127.0.0.1", delay: float = 0.0) -> DNSResponder:
        s = DNSResponder(handler, address, delay)
        self.started.append(s)
        return s

    def stop(self) -> None:
        for s in reversed(self.started):
            s.stop()


@pytest.fixture(scope="module")
def faults() -> Iterator[FaultFactory]:
    factory = FaultFactory()
    yield factory
    factory.stop()


def write_ca_bundle(directory: Path, ca: TestCA) -> Path:
    path = directory / "ca-bundle.pem"
    path.write_text(ca.root_pem)
    return path
