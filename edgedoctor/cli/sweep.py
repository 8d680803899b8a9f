"""`edgedoctor sweep`: every host of one or more clusters (edgedoctor.fleet does the work)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

OUTPUTS = ("table", "json", "prometheus", "junit")
# fleet.sweep.DEFAULT_TIMEOUT, written out: the parser does not import the sweep.
SWEEP_TIMEOUT_HELP = "the whole sweep's deadline, all hosts together (default 120)"


def add_sweep_parser(sub: Any) -> None:
    from edgedoctor.app.args import add_evidence_flags

    sw = sub.add_parser("sweep", help="diagnose every host of one or more clusters")
    sw.add_argument("hosts", metavar="GLOB", nargs="*", help="only hosts matching these globs (e.g. '*.shop.example.com')")
    add_evidence_flags(sw, many_contexts=True, timeout_help=SWEEP_TIMEOUT_HELP)
    add_sweep_flags(sw)
    sw.add_argument("--record", metavar="FILE", help="also write a recording of the whole sweep (.gz: compressed)")
    sw.add_argument("-o", "--output", choices=OUTPUTS, help="table (default on a terminal), json, prometheus, junit")


def add_sweep_flags(p: argparse.ArgumentParser) -> None:
    """The flags sweep and serve add to the evidence flags."""
    g = p.add_argument_group("which hosts")
    g.add_argument("--all-contexts", action="store_true", help="every context of the kubeconfig")
    g.add_argument("-n", "--namespace", metavar="NS", action="append", default=[],
                   help="only routes and Gateways in this namespace (repeatable)")
    g.add_argument("-l", "--selector", metavar="SELECTOR", help="only routes and Gateways with these labels (as kubectl)")
    g.add_argument("--parallel", metavar="N", type=int, help="hosts probed at once (default 16)")
    g.add_argument("--zone-transfer", action="store_true",
                   help="also AXFR each zone (where its server allows it): orphaned and unowned records")


def sweep_options(args: argparse.Namespace) -> Any:
    from edgedoctor.app.args import evidence_fields
    from edgedoctor.fleet.sweep import DEFAULT_PARALLEL, DEFAULT_TIMEOUT, SweepOptions

    timeout = args.timeout if args.timeout is not None else DEFAULT_TIMEOUT
    return SweepOptions(
        contexts=list(args.context or []),
        all_contexts=bool(args.all_contexts),
        timeout=timeout,
        parallel=args.parallel if args.parallel is not None else DEFAULT_PARALLEL,
        namespaces=list(args.namespace),
        selector=args.selector,
        globs=list(getattr(args, "hosts", None) or []),
        zone_transfer=bool(getattr(args, "zone_transfer", False)),
        **evidence_fields(args),
    )


def cmd_sweep(args: argparse.Namespace) -> int:
    from edgedoctor.app.exitcodes import exit_code
    from edgedoctor.cli.common import err
    from edgedoctor.fleet.render import JsonWriter, render_junit, render_prometheus, render_table
    from edgedoctor.fleet.source import SweepError
    from edgedoctor.fleet.sweep import SweepRun

    output = args.output or ("table" if sys.stdout.isatty() else "json")
    try:
        run = SweepRun(sweep_options(args))
    except SweepError as e:
        return err(str(e))
    writer = JsonWriter(sys.stdout, run.generated_at, run.contexts) if output == "json" else None
    result = run.collect(writer.host if writer else None, keep_probes=bool(args.record))
    if writer is not None:
        writer.finish(result)
    elif output == "prometheus":
        sys.stdout.write(render_prometheus(result))
    elif output == "junit":
        sys.stdout.write(render_junit(result))
    else:
        width = os.get_terminal_size().columns if sys.stdout.isatty() else 200
        sys.stdout.write(render_table(result, width=width))
    for c in result.contexts:
        for why in c.unknown_reasons:
            print(f"edgedoctor: context {c.context or '(current)'}: {why}", file=sys.stderr)
    if args.record:
        from edgedoctor.fleet.recording import write_sweep_recording
        from edgedoctor.recording import RecordingError

        try:
            write_sweep_recording(args.record, result)
        except RecordingError as e:
            return err(str(e))
    return exit_code(result.verdict)
