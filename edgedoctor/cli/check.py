"""`edgedoctor check HOST` and `edgedoctor record HOST -o FILE`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from edgedoctor.app.args import UsageError, check_options, parse_host
from edgedoctor.app.exitcodes import exit_code
from edgedoctor.cli.common import err, say


def _json_output(args: argparse.Namespace) -> bool:
    output = args.output or ("text" if sys.stdout.isatty() else "json")
    return output == "json"


def cmd_check(args: argparse.Namespace) -> int:
    from edgedoctor.app.run import check
    from edgedoctor.collect import EvidenceError

    host = _host(args)
    opts = check_options(args, host)
    if args.record:
        # Checked before the work: a failure after it would lose the diagnosis.
        _check_writable(args.record)
    try:
        ev, d = check(opts)
    except EvidenceError as e:
        if _json_output(args):
            unknown_json(host, str(e))
        return err(str(e))
    record_failed = None
    if args.record:
        from edgedoctor.recording import RecordingError, write_recording

        try:
            write_recording(args.record, ev)
        except RecordingError as e:
            record_failed = str(e)
        if args.command == "record":
            if record_failed:
                return err(record_failed)
            print(f"recorded {host} to {args.record}: {d.verdict}", file=sys.stderr)
            return exit_code(d.verdict)
    if _json_output(args):
        from edgedoctor.output.jsonout import render_json

        sys.stdout.write(render_json(d))
    else:
        from edgedoctor.app.offers import playbook_offers
        from edgedoctor.output.text import render_text

        color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
        sys.stdout.write(render_text(d, color=color, offers=playbook_offers(ev, d)))
    for line in cause_lines(d.unknown_reasons):
        say(line)
    if record_failed:
        # The diagnosis is printed; the recording that was asked for is not there.
        return err(record_failed)
    return exit_code(d.verdict)


def _host(args: argparse.Namespace) -> str:
    """HOST, or with --replay and no HOST the host the recording names."""
    if args.host is not None:
        return parse_host(args.host)
    if getattr(args, "replay", None):
        from edgedoctor.recording import RecordingError, read_recording_doc

        try:
            ev = read_recording_doc(args.replay).get("evidence") or {}
        except RecordingError as e:
            raise UsageError(str(e)) from None
        if isinstance(ev, dict) and isinstance(ev.get("host"), str):
            return parse_host(ev["host"])
        raise UsageError(f"{args.replay}: the recording names no host; give HOST")
    raise UsageError("give the HOST to check (e.g. `edgedoctor check app.example.com`), or --replay FILE")


def _check_writable(path: str) -> None:
    """Refuse a --record path that cannot be written, in one line, before any work."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"--record {path}: cannot write the recording: it is a directory; give a file name")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"--record {path}: cannot write the recording: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise UsageError(f"--record {path}: cannot write the recording: permission denied; choose another path")


def cause_lines(reasons: list[str]) -> list[str]:
    """One stderr line per distinct cause: nodes that could not be established for the same
    reason ("cluster not read: ...") are named together, not once per node."""
    from edgedoctor.model import NODE_ORDER

    by_cause: dict[str, list[str]] = {}
    for reason in reasons:
        node, _, why = reason.partition(": ")
        if node in NODE_ORDER and why:
            by_cause.setdefault(why, []).append(node)
        else:
            by_cause.setdefault(reason, [])
    out = []
    items = list(by_cause.items())
    # A page of causes helps nobody: the first few, and where the rest are.
    shown, rest = items[:6], items[6:]
    for why, nodes in shown:
        if not nodes:
            out.append(why)
        elif len(nodes) == 1:
            out.append(f"could not establish {nodes[0]}: {why}")
        else:
            out.append(f"could not establish {', '.join(nodes)}: {why}")
    if rest:
        out.append(f"and {len(rest)} more cause(s): see unknown_reasons in the output")
    return out


def unknown_json(host: str | None, reason: str) -> None:
    """The contract's document when no evidence could be gathered at all."""
    from edgedoctor.model import Diagnosis
    from edgedoctor.output.jsonout import render_json
    from edgedoctor.timefmt import utc_now

    d = Diagnosis(host=host or "", verdict="unknown", category=None, root_cause=None, findings=[], tree=[],
                  source={}, generated_at=utc_now(), unknown_reasons=[reason])
    sys.stdout.write(render_json(d))
