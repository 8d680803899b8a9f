"""Live without a kubeconfig: the probes still run, the cluster's nodes are unknown, and the
banner says the one reason once (the shared collection code, edgedoctor.collect, decides;
the TUI shows it). No network: the resolver asked is a loopback port nobody answers on."""

from __future__ import annotations

import http.server
import socket
import threading

from edgedoctor.collect import CheckOptions
from edgedoctor.tui.session import Checker
from tests.tui.kit import make_app, plain, settle

CLUSTER_NODES = ("load-balancer", "gateway", "listener", "route", "backend", "certificate",
                 "certificate-request", "order", "challenge", "secret")


def _dead_udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


async def test_no_kubeconfig_runs_the_probes_and_marks_the_cluster_unknown(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none" / "config"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    port = _dead_udp_port()
    opts = CheckOptions(host="", nameservers=[f"127.0.0.1:{port}"], authoritative=[f"127.0.0.1:{port}"],
                        resolve=["app.example.com:443:127.0.0.1", "app.example.com:80:127.0.0.1"], timeout=4.0)
    app = make_app(Checker(opts), host="app.example.com")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        main = app.main_screen
        d, ev = main.diagnosis, main.ev
        assert d is not None, plain(main.query_one("#verdict"))
        assert ev.dns is not None and ev.tls is not None and ev.http is not None, "the probes ran"
        for node in CLUSTER_NODES:
            assert d.node(node).status == "unknown", (node, d.node(node))
        assert d.node("served-certificate").status != "skip" and d.node("http-redirect").status != "skip"
        banner = " ".join(plain(main.query_one("#verdict")).split())
        assert "UNKNOWN" in banner and "kubeconfig" in banner
        assert banner.count("no kubeconfig") == 1, banner


class _NotKubernetes(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = b"<html>404 page not found</html>"
        self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


async def test_a_server_that_answers_404_to_everything_is_said_not_to_be_kubernetes(tmp_path):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotKubernetes)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    kc = tmp_path / "config"
    kc.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "http://127.0.0.1:{srv.server_address[1]}"}}}}]
users: [{{name: u, user: {{token: not-a-real-token}}}}]
contexts: [{{name: prod, context: {{cluster: c, user: u}}}}]
current-context: prod
""")
    try:
        app = make_app(Checker(CheckOptions(host="", kubeconfig=str(kc), offline=True, timeout=5.0)), host="app.example.com")
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            main = app.main_screen
            banner = " ".join(plain(main.query_one("#verdict")).split())
            assert "is not a Kubernetes API server" in banner and "CRD" not in banner, banner
            if main.diagnosis is not None:
                assert main.diagnosis.node("gateway").status == "unknown"
    finally:
        srv.shutdown()
        srv.server_close()
