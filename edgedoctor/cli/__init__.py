"""The command line: `edgedoctor check HOST` and friends, one module per subcommand
(`check` and `record` in check.py, `checks` and `explain` in catalog.py, `fix`, `lint`, `sweep`, `serve`,
`tui`).

It only parses and renders: hosts, evidence options, the staged check and the exit
codes come from `edgedoctor.app`. Never imports Textual (the TUI lives behind
`edgedoctor tui`), and the kubernetes client only on the live path. Every user error
is one line on stderr and exit 3.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from edgedoctor.app.args import UsageError
from edgedoctor.app.exitcodes import EXIT_UNKNOWN
from edgedoctor.cli.common import err, say
from edgedoctor.cli.parser import build_parser

__all__ = ["build_parser", "main"]


def _handler(command: str) -> Callable[..., int]:
    # Each subcommand's module is imported only when it runs.
    if command in ("check", "record"):
        from edgedoctor.cli.check import cmd_check

        return cmd_check
    if command == "checks":
        from edgedoctor.cli.catalog import cmd_checks

        return cmd_checks
    if command == "explain":
        from edgedoctor.cli.catalog import cmd_explain

        return cmd_explain
    if command == "lint":
        from edgedoctor.cli.lint import cmd_lint

        return cmd_lint
    if command == "sweep":
        from edgedoctor.cli.sweep import cmd_sweep

        return cmd_sweep
    if command == "serve":
        from edgedoctor.cli.serve import cmd_serve

        return cmd_serve
    if command == "fix":
        from edgedoctor.cli.fix import run_fix

        return run_fix
    from edgedoctor.cli.tui import cmd_tui

    return cmd_tui


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        if not argv:
            if sys.stdin.isatty() and sys.stdout.isatty():
                argv = ["tui"]
            else:
                parser.print_usage(sys.stderr)
                return err("give a command, e.g. `edgedoctor check HOST` (no terminal for the TUI)")
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_usage(sys.stderr)
            return EXIT_UNKNOWN
        if args.command == "record":
            if args.record_legacy and not args.record:
                say(f"notice: `record -o FILE` is now `record --file FILE` (-o is the output format "
                    f"everywhere else); writing {args.record_legacy}")
                args.record = args.record_legacy
            if not args.record:
                raise UsageError("record needs the file to write: --file FILE")
            args.output = None
            args.color = "never"
        return _handler(args.command)(args)
    except UsageError as e:
        if _check_wants_json(argv):
            # The contract: with JSON output, every exit 3 still prints the document.
            from edgedoctor.cli.check import unknown_json

            unknown_json(_raw_host(argv), str(e))
        return err(str(e))
    except KeyboardInterrupt:
        print("edgedoctor: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _check_wants_json(argv: list[str]) -> bool:
    """`check` with JSON output (-o json, or no -o and no terminal), read from the raw
    arguments: argparse may have refused them."""
    if not argv or argv[0] != "check":
        return False
    out = None
    for i, a in enumerate(argv):
        if a in ("-o", "--output") and i + 1 < len(argv):
            out = argv[i + 1]
        elif a.startswith("--output="):
            out = a.split("=", 1)[1]
        elif a.startswith("-o") and len(a) > 2 and not a.startswith("--"):
            out = a[2:]
    return out == "json" or (out is None and not sys.stdout.isatty())


def _raw_host(argv: list[str]) -> str | None:
    """The HOST as typed (the first positional after `check`), for the document's `host`."""
    takes_value = {"--kubeconfig", "--context", "--snapshot", "--replay", "--nameserver", "--authoritative",
                   "--resolve", "--ca-bundle", "--now", "--timeout", "--record", "-o", "--output", "--color"}
    skip = False
    for a in argv[1:]:
        if skip:
            skip = False
            continue
        if a in takes_value:
            skip = True
            continue
        if not a.startswith("-") or a == "-":
            return a
    return None
