"""`edgedoctor serve`: a Prometheus exporter that re-sweeps on an interval.

One sweeper thread runs the sweeps one after the other (never two at once: a sweep that
takes longer than the interval delays the next, it does not overlap it). Scrapes never
wait for a sweep: /metrics serves the last finished one, plus the exporter's own state.
/healthz answers 200 while the sweeper is alive.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def parse_listen(text: str) -> tuple[str, int]:
    """`ADDR:PORT`, `:PORT` (all addresses) or `[::1]:PORT`; raises ValueError."""
    t = text.strip()
    if t.startswith("["):
        host, _, rest = t[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = t.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--listen {text!r}: expected ADDRESS:PORT, e.g. 0.0.0.0:9469")
    return host or "0.0.0.0", int(port)


class _ExporterState:
    """What the exporter tells about itself, for prometheus_client."""

    def __init__(self, exporter: Exporter) -> None:
        self.exporter = exporter

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        e = self.exporter
        with e.lock:
            sweeps, failures, running, duration = e.sweeps, e.failures, e.running, e.last_duration
            last_ok = e.last_success
        yield CounterMetricFamily("edgedoctor_sweeps", "Sweeps finished since the exporter started", value=sweeps)
        yield CounterMetricFamily("edgedoctor_sweep_failures", "Sweeps that could not run at all", value=failures)
        yield GaugeMetricFamily("edgedoctor_sweep_running", "1 while a sweep runs (never more)", value=running)
        if duration is not None:
            yield GaugeMetricFamily("edgedoctor_sweep_duration_seconds", "How long the last sweep took", value=duration)
        if last_ok is not None:
            yield GaugeMetricFamily("edgedoctor_last_sweep_success_timestamp_seconds",
                                    "When the last sweep that ran finished", value=last_ok)


class Exporter:
    """Sweeps with `sweep()` every `interval` seconds and serves the last result."""

    def __init__(self, sweep: Callable[[], Any], interval: float) -> None:
        self.sweep = sweep
        self.interval = interval
        self.lock = threading.Lock()
        self.result: Any = None
        self.sweeps = 0
        self.failures = 0
        self.running = 0
        self.last_duration: float | None = None
        self.last_success: float | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="edgedoctor-sweeper", daemon=True)

    def _loop(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            with self.lock:
                self.running = 1
            try:
                result = self.sweep()
            except Exception as e:  # a failed sweep keeps the last result; the next may work
                print(f"edgedoctor serve: sweep failed: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
                with self.lock:
                    self.failures += 1
                    self.running = 0
            else:
                with self.lock:
                    self.result = result
                    self.sweeps += 1
                    self.running = 0
                    self.last_duration = time.monotonic() - started
                    self.last_success = time.time()
            # Start to start; a sweep longer than the interval is followed at once, never overlapped.
            self.stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def metrics(self) -> bytes:
        from prometheus_client import CollectorRegistry, generate_latest

        from edgedoctor.fleet.render import SweepCollector

        reg = CollectorRegistry(auto_describe=False)
        reg.register(_ExporterState(self))
        with self.lock:
            result = self.result
        if result is not None:
            reg.register(SweepCollector(result))
        return generate_latest(reg)

    def healthy(self) -> bool:
        return self.thread.is_alive()


def make_server(exporter: Exporter, listen: tuple[str, int]) -> ThreadingHTTPServer:
    from prometheus_client.exposition import CONTENT_TYPE_LATEST

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server API)
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, exporter.metrics(), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                ok = exporter.healthy()
                self._send(200 if ok else 503, b"ok\n" if ok else b"sweeper stopped\n", "text/plain; charset=utf-8")
            else:
                self._send(404, b"not found: try /metrics or /healthz\n", "text/plain; charset=utf-8")

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # a scrape every 30 s is not news

    server = ThreadingHTTPServer(listen, Handler)
    server.daemon_threads = True
    return server
