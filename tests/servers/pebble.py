"""pebble, Let's Encrypt's ACME test CA, validating DNS-01 against the test's own named.

`-dnsserver 127.0.0.1:<named port>` points pebble's validation lookups at that server, so the
`_acme-challenge` TXT a test publishes by dynamic update is what pebble sees.
PEBBLE_VA_NOSLEEP=1 removes pebble's random validation delay and PEBBLE_WFE_NONCEREJECT=0
stops it from rejecting good nonces at random, so the tests are deterministic.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.servers.common import Process, free_port, require_binary, tcp_open, wait_until
from tests.servers.pki import TestCA


class PebbleServer:
    def __init__(self, workdir: Path, ca: TestCA, dns_server: tuple[str, int],
                 address: str = "127.0.0.1") -> None:
        self.binary = require_binary("pebble", "Debian package pebble")
        self.workdir = workdir
        self.ca = ca
        self.dns_server = dns_server
        self.address = address
        self.port = free_port(address, udp=False)
        self.management_port = free_port(address, udp=False)
        self.process: Process | None = None

    @property
    def directory_url(self) -> str:
        return f"https://{self.address}:{self.port}/dir"

    @property
    def ca_file(self) -> Path:
        """The root that signed pebble's own HTTPS certificate (for the ACME client)."""
        return self.workdir / "pebble-ca.pem"

    def start(self, ready_timeout: float = 15.0) -> PebbleServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        listener = self.ca.leaf(["localhost"], ip_sans=[self.address])
        crt, key = listener.write(self.workdir, "pebble-listener")
        self.ca_file.write_text(self.ca.root_pem)
        config = {
            "pebble": {
                "listenAddress": f"{self.address}:{self.port}",
                "managementListenAddress": f"{self.address}:{self.management_port}",
                "certificate": str(crt),
                "privateKey": str(key),
                # Ports pebble would use for HTTP-01/TLS-ALPN-01; the tests use DNS-01 only.
                "httpPort": free_port(self.address, udp=False),
                "tlsPort": free_port(self.address, udp=False),
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
            }
        }
        conf = self.workdir / "pebble-config.json"
        conf.write_text(json.dumps(config, indent=2))
        dns = f"{self.dns_server[0]}:{self.dns_server[1]}"
        self.process = Process(
            [self.binary, "-config", str(conf), "-dnsserver", dns],
            self.workdir / "pebble.log",
            env={"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"},
            cwd=self.workdir,
        )
        wait_until(lambda: tcp_open(self.address, self.port), ready_timeout, "pebble",
                   self.workdir / "pebble.log", self.process.proc)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
