"""nginx serving the certificates and redirects a test sets up, one server block per SNI name.

Add sites, then start(): the config, certificates, keys, pid and logs all live in the test's
tmp dir and nginx runs in the foreground (`daemon off`) so stop() ends exactly that process.
Sites on the same address:port share that socket's options (ssl, proxy_protocol).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tests.servers.common import Process, require_binary, tcp_open, wait_until
from tests.servers.pki import Issued


@dataclass
class _Listen:
    address: str
    port: int
    ssl: bool
    proxy_protocol: bool
    blocks: list[str] = field(default_factory=list)
    has_default: bool = False


class NginxServer:
    def __init__(self, workdir: Path) -> None:
        self.binary = require_binary("nginx", "Debian package nginx-light")
        self.workdir = workdir
        self.listens: dict[tuple[str, int], _Listen] = {}
        self.process: Process | None = None
        self._n = 0

    def _listen(self, address: str, port: int, ssl: bool, proxy_protocol: bool) -> _Listen:
        key = (address, port)
        existing = self.listens.get(key)
        if existing is None:
            existing = self.listens[key] = _Listen(address, port, ssl, proxy_protocol)
        elif (existing.ssl, existing.proxy_protocol) != (ssl, proxy_protocol):
            raise ValueError(f"{address}:{port} is already set up with other options")
        return existing

    def _listen_line(self, listen: _Listen, default: bool) -> str:
        opts = []
        if listen.ssl:
            opts.append("ssl")
        if default and not listen.has_default:
            opts.append("default_server")
            listen.has_default = True
        if listen.proxy_protocol:
            opts.append("proxy_protocol")
        return f"listen {listen.address}:{listen.port} {' '.join(opts)};"

    @staticmethod
    def _answer(body: str | None, redirect: str | None) -> str:
        if redirect is not None:
            return f"location / {{ return 301 {redirect}; }}"
        text = (body or "ok").replace('"', "'")
        return f'location / {{ default_type text/plain; return 200 "{text}\\n"; }}'

    def tls_site(
        self,
        listen: tuple[str, int],
        server_names: list[str],
        issued: Issued,
        *,
        default: bool = False,
        proxy_protocol: bool = False,
        body: str | None = None,
        redirect: str | None = None,
        protocols: str | None = None,
    ) -> None:
        """An HTTPS virtual host serving `issued` (leaf + intermediates) for these SNI names.

        protocols: e.g. "TLSv1.3" for a server that refuses TLS 1.2 (nginx takes it from the
        default server of the address:port).
        """
        self._n += 1
        crt, key = issued.write(self.workdir / "certs", f"site{self._n}")
        lst = self._listen(listen[0], listen[1], True, proxy_protocol)
        names = " ".join(server_names) or '""'
        answer = self._answer(body or f"tls {server_names[0] if server_names else 'default'}", redirect)
        lst.blocks.append(
            "server {\n"
            f"  {self._listen_line(lst, default)}\n"
            f"  server_name {names};\n"
            f"  ssl_certificate {crt};\n"
            f"  ssl_certificate_key {key};\n"
            + (f"  ssl_protocols {protocols};\n" if protocols else "")
            + f"  {answer}\n"
            "}\n"
        )

    def http_site(
        self,
        listen: tuple[str, int],
        server_names: list[str],
        *,
        redirect: str | None = "https://$host$request_uri",
        default: bool = False,
        proxy_protocol: bool = False,
        body: str | None = None,
    ) -> None:
        """A plain-HTTP virtual host: redirect (default to https://$host/...) or a 200 page."""
        lst = self._listen(listen[0], listen[1], False, proxy_protocol)
        names = " ".join(server_names) or '""'
        lst.blocks.append(
            "server {\n"
            f"  {self._listen_line(lst, default)}\n"
            f"  server_name {names};\n"
            f"  {self._answer(body or 'plain http', redirect)}\n"
            "}\n"
        )

    def config(self) -> str:
        d = self.workdir
        servers = "".join(b for lst in self.listens.values() for b in lst.blocks)
        return (
            "worker_processes 1;\n"
            f"pid {d}/nginx.pid;\n"
            f"error_log {d}/error.log info;\n"
            "events { worker_connections 64; }\n"
            "http {\n"
            "  access_log off;\n"
            f"  client_body_temp_path {d}/tmp/body;\n"
            f"  proxy_temp_path {d}/tmp/proxy;\n"
            f"  fastcgi_temp_path {d}/tmp/fastcgi;\n"
            f"  uwsgi_temp_path {d}/tmp/uwsgi;\n"
            f"  scgi_temp_path {d}/tmp/scgi;\n"
            "  server_tokens off;\n"
            "  ssl_protocols TLSv1.2 TLSv1.3;\n"
            f"{servers}"
            "}\n"
        )

    def start(self, ready_timeout: float = 10.0) -> NginxServer:
        (self.workdir / "tmp").mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "nginx.conf"
        conf.write_text(self.config())
        self.process = Process(
            [self.binary, "-p", str(self.workdir), "-c", str(conf), "-e", str(self.workdir / "error.log"),
             "-g", "daemon off;"],
            self.workdir / "nginx.out",
        )

        def ready() -> bool:
            return all(tcp_open(a, p) for a, p in self.listens)

        wait_until(ready, ready_timeout, "nginx", self.workdir / "nginx.out", self.process.proc)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
