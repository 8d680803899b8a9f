"""`edgedoctor serve`: scraped over HTTP and parsed with prometheus_client's parser; one
sweep at a time; scrapes never wait for a sweep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from edgedoctor.fleet.serve import Exporter, make_server
from tests import casekit, fleetkit
from tests.servers.common import free_port
from tests.test_cli import run

ROOT = Path(__file__).resolve().parents[1]


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_serve_is_scraped_and_stops_on_sigterm(tmp_path):
    snap = casekit.write_snapshot(fleetkit.fleet_objects(), tmp_path / "fleet.yaml")
    port = free_port("127.0.0.1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgedoctor", "serve", "--snapshot", str(snap), "--offline", "--now", casekit.NOW,
         "--context", "prod-01", "--listen", f"127.0.0.1:{port}", "--interval", "0.5"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        fams: dict = {}
        while time.monotonic() < deadline:
            try:
                r = httpx.get(base + "/metrics", timeout=2)
                fams = families(r.text)
                if fams.get("edgedoctor_sweeps") and fams["edgedoctor_sweeps"].samples[0].value >= 2:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        assert r.headers["content-type"].startswith("text/plain")
        verdicts = {s.labels["host"]: s for s in fams["edgedoctor_host_verdict"].samples}
        assert verdicts["orders.example.com"].value == 2 and verdicts["orders.example.com"].labels["code"] == "route-backend-unresolved"
        assert verdicts["app.example.com"].value == 0 and verdicts["app.example.com"].labels["context"] == "prod-01"
        assert fams["edgedoctor_sweeps"].samples[0].value >= 2  # it re-sweeps on the interval
        assert fams["edgedoctor_sweep_running"].samples[0].value in (0, 1)
        assert httpx.get(base + "/healthz", timeout=2).status_code == 200
        assert httpx.get(base + "/nothing", timeout=2).status_code == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_never_two_sweeps_at_once_and_scrapes_do_not_wait():
    active, peak, calls = [0], [0], [0]
    lock = threading.Lock()
    release = threading.Event()

    class Result:  # what SweepCollector reads
        contexts: list = []
        hosts: list = []

    def blocked_sweep():
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            calls[0] += 1
            n = calls[0]
        if n == 2:
            release.wait(10)  # the second sweep hangs until the test lets it go
        with lock:
            active[0] -= 1
        return Result()

    exporter = Exporter(blocked_sweep, interval=0.01)
    server = make_server(exporter, ("127.0.0.1", 0))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    exporter.thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
    try:
        deadline = time.monotonic() + 10
        while calls[0] < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # thirty intervals pass while the second sweep hangs
        assert calls[0] == 2
        # A scrape meanwhile answers from the first sweep at once, saying one sweep runs.
        fams = families(httpx.get(url, timeout=5).text)
        assert fams["edgedoctor_sweep_running"].samples[0].value == 1
        assert fams["edgedoctor_sweeps"].samples[0].value == 1
        release.set()
        while calls[0] < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        release.set()
        exporter.stop.set()
        server.shutdown()
        server.server_close()
    assert calls[0] >= 4 and peak[0] == 1


@pytest.mark.parametrize("args, message", [
    (["--listen", "nowhere"], "--listen"),
    (["--interval", "0"], "--interval"),
    (["--offline", "--zone-transfer"], "--zone-transfer"),
])
def test_serve_bad_input_is_one_line_and_exit_3(args, message):
    p = run("serve", "--snapshot", str(ROOT / "tests" / "snapshots" / "base"), *args)
    assert p.returncode == 3 and message in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
