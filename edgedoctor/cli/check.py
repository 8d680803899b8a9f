"""`edgedoctor check HOST` and `edgedoctor record HOST -o FILE`."""

from __future__ import annotations

import argparse
import os
import sys

from edgedoctor.app.args import check_options, parse_host
from edgedoctor.app.exitcodes import exit_code
from edgedoctor.cli.common import err, say


def _json_output(args: argparse.Namespace) -> bool:
    output = args.output or ("text" if sys.stdout.isatty() else "json")
    return output == "json"


def cmd_check(args: argparse.Namespace) -> int:
    from edgedoctor.app.run import check
    from edgedoctor.collect import EvidenceError

    host = parse_host(args.host)
    opts = check_options(args, host)
    try:
        ev, d = check(opts)
    except EvidenceError as e:
        if _json_output(args):
            _unknown_json(host, str(e))
        return err(str(e))
    if args.record:
        from edgedoctor.recording import RecordingError, write_recording

        try:
            write_recording(args.record, ev)
        except RecordingError as e:
            return err(str(e))
        if args.command == "record":
            print(f"recorded {host} to {args.record}: {d.verdict}", file=sys.stderr)
            return exit_code(d.verdict)
    if _json_output(args):
        from edgedoctor.output.jsonout import render_json

        sys.stdout.write(render_json(d))
    else:
        from edgedoctor.output.text import render_text

        color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
        sys.stdout.write(render_text(d, color=color))
    from edgedoctor.model import NODE_ORDER

    # One line per cause: what could not be read (whatever the verdict), then the nodes.
    for reason in d.unknown_reasons[:3]:
        node = reason.split(":", 1)[0]
        say(f"could not establish {reason}" if node in NODE_ORDER else reason)
    return exit_code(d.verdict)


def _unknown_json(host: str, reason: str) -> None:
    """The contract's document when no evidence could be gathered at all."""
    from edgedoctor.model import Diagnosis
    from edgedoctor.output.jsonout import render_json
    from edgedoctor.timefmt import utc_now

    d = Diagnosis(host=host, verdict="unknown", category=None, root_cause=None, findings=[], tree=[],
                  source={}, generated_at=utc_now(), unknown_reasons=[reason])
    sys.stdout.write(render_json(d))
