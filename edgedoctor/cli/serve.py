"""`edgedoctor serve`: the fleet's Prometheus exporter (edgedoctor.fleet.serve)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

# Here, not in edgedoctor.fleet.serve: the parser of every subcommand reads them, and
# importing the exporter (http.server, email) for them would slow every start.
DEFAULT_LISTEN = "0.0.0.0:9469"
DEFAULT_INTERVAL = 300.0


def add_serve_parser(sub: Any) -> None:
    from edgedoctor.app.args import add_evidence_flags
    from edgedoctor.cli.sweep import SWEEP_TIMEOUT_HELP, add_sweep_flags

    s = sub.add_parser("serve", help="export every host's state to Prometheus, re-sweeping on an interval")
    s.add_argument("hosts", metavar="GLOB", nargs="*", help="only hosts matching these globs")
    add_evidence_flags(s, many_contexts=True, timeout_help=SWEEP_TIMEOUT_HELP)
    add_sweep_flags(s)
    s.add_argument("--listen", metavar="ADDR:PORT", default=DEFAULT_LISTEN, help=f"where to serve /metrics and /healthz (default {DEFAULT_LISTEN})")
    s.add_argument("--interval", metavar="SECONDS", type=float, default=DEFAULT_INTERVAL,
                   help=f"seconds from one sweep's start to the next (default {DEFAULT_INTERVAL:.0f})")


def cmd_serve(args: argparse.Namespace) -> int:
    from edgedoctor.cli.common import err
    from edgedoctor.cli.sweep import sweep_options
    from edgedoctor.fleet.serve import Exporter, make_server, parse_listen
    from edgedoctor.fleet.sweep import SweepError, SweepRun, validate

    opts = sweep_options(args)
    if args.interval <= 0:
        return err("--interval must be a positive number of seconds")
    try:
        listen = parse_listen(args.listen)
        validate(opts)
    except (ValueError, SweepError) as e:
        return err(str(e))

    def sweep() -> Any:
        return SweepRun(opts).collect()

    exporter = Exporter(sweep, args.interval)
    try:
        server = make_server(exporter, listen)
    except OSError as e:
        return err(f"--listen {args.listen}: cannot listen: {e.strerror or e}")
    done = threading.Event()

    def stop(*_: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    exporter.thread.start()
    threading.Thread(target=server.serve_forever, name="edgedoctor-http", daemon=True).start()
    host, port = server.server_address[:2]
    print(f"edgedoctor serve: /metrics and /healthz on {host}:{port}, sweeping every {args.interval:g}s",
          file=sys.stderr, flush=True)
    done.wait()
    exporter.stop.set()
    server.shutdown()
    server.server_close()
    return 0
