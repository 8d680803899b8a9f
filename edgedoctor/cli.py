"""The command line: `edgedoctor check HOST` and friends.

Never imports textual (the TUI lives behind `edgedoctor tui`), and the kubernetes
client only on the live path. Every user error is one line on stderr and exit 3.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from edgedoctor import __version__

EXIT_UNKNOWN = 3


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse exits 2; the contract says 3
        raise UsageError(message)


def _prog() -> str:
    base = os.path.basename(sys.argv[0] or "edgedoctor")
    return "kubectl edgedoctor" if base.startswith("kubectl-") else "edgedoctor"


def _evidence_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("where the evidence comes from")
    g.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file (as kubectl; never written)")
    g.add_argument("--context", metavar="NAME", help="kubeconfig context (as kubectl)")
    g.add_argument("--snapshot", metavar="PATH", action="append", default=[],
                   help="kubectl get -o yaml|json output, or a directory of them (repeatable)")
    g.add_argument("--replay", metavar="FILE", help="replay a recording: no network at all")
    g.add_argument("--nameserver", metavar="ADDR[:PORT]", action="append", default=[],
                   help="recursive resolver to ask (repeatable; default: the system's)")
    g.add_argument("--authoritative", metavar="ADDR[:PORT]", action="append", default=[],
                   help="ask these as the zone's authoritative servers (repeatable)")
    g.add_argument("--resolve", metavar="HOST:PORT:ADDR", action="append", default=[],
                   help="as curl: connect there for the TLS and HTTP probes (repeatable)")
    g.add_argument("--ca-bundle", metavar="PATH", help="extra trusted roots for the served chain")
    g.add_argument("--offline", action="store_true", help="no DNS/TLS/HTTP probes: cluster evidence only")
    g.add_argument("--now", metavar="RFC3339", help="judge validity and ages as of this instant")
    g.add_argument("--timeout", metavar="SECONDS", type=float, default=20.0,
                   help="the whole check's deadline (default 20)")


def build_parser() -> argparse.ArgumentParser:
    prog = _prog()
    p = _Parser(prog=prog, description="From a hostname to the broken link of the Kubernetes edge.")
    p.add_argument("--version", action="version", version=f"edgedoctor {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    c = sub.add_parser("check", help="diagnose one hostname (scripts and monitoring)")
    c.add_argument("host", metavar="HOST")
    _evidence_flags(c)
    c.add_argument("--record", metavar="FILE", help="also write a recording of this check (.gz: compressed)")
    c.add_argument("-o", "--output", choices=("text", "json"), help="text (default on a terminal) or json")
    c.add_argument("--color", choices=("auto", "always", "never"), default="auto")

    r = sub.add_parser("record", help="run a check and write its recording")
    r.add_argument("host", metavar="HOST")
    _evidence_flags(r)
    r.add_argument("-o", "--output", dest="record", metavar="FILE", required=True, help="recording file (.gz: compressed)")

    sub.add_parser("checks", help="list the catalog of root causes")
    e = sub.add_parser("explain", help="explain one root-cause code")
    e.add_argument("code", metavar="CODE")

    f = sub.add_parser("fix", help="run a remediation playbook (dry-run unless confirmed)")
    f.add_argument("playbook", metavar="PLAYBOOK", nargs="?")
    f.add_argument("host", metavar="HOST", nargs="?")
    _evidence_flags(f)
    f.add_argument("--yes", action="store_true", help="apply changes without asking (scripts)")
    f.add_argument("--apply", action="store_true", help="leave dry-run: make the changes after confirmation")
    f.add_argument("--audit-log", metavar="FILE", help="where changes are logged (default ./edgedoctor-audit.log)")
    f.add_argument("--list", action="store_true", help="list the playbooks")
    f.add_argument("--token-file", metavar="PATH",
                   help="rotate-cloudflare-token: read the new token from this file (never printed or logged)")

    t = sub.add_parser("tui", help="the interactive diagnosis (Textual)")
    t.add_argument("host", metavar="HOST", nargs="?")
    _evidence_flags(t)
    return p


def _err(msg: str) -> int:
    print(f"edgedoctor: {msg}", file=sys.stderr)
    return EXIT_UNKNOWN


def _options(args: argparse.Namespace, host: str):
    from edgedoctor.collect import CheckOptions

    if args.replay and (args.snapshot or args.kubeconfig or args.context):
        raise UsageError("--replay takes all evidence from the recording; drop --snapshot/--kubeconfig/--context")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    return CheckOptions(
        host=host,
        kubeconfig=args.kubeconfig,
        context=args.context,
        snapshots=list(args.snapshot),
        replay=args.replay,
        nameservers=list(args.nameserver),
        authoritative=list(args.authoritative),
        resolve=list(args.resolve),
        ca_bundle=args.ca_bundle,
        offline=bool(args.offline),
        now=args.now,
        timeout=args.timeout,
    )


def _host(raw: str) -> str:
    from edgedoctor.hostname import HostnameError, normalize_host

    try:
        return normalize_host(raw)
    except HostnameError as e:
        raise UsageError(str(e)) from None


def cmd_check(args: argparse.Namespace) -> int:
    from edgedoctor.collect import EvidenceError, gather
    from edgedoctor.diagnosis.engine import diagnose
    from edgedoctor.model import EXIT_CODES

    host = _host(args.host)
    opts = _options(args, host)
    try:
        ev = gather(opts)
    except EvidenceError as e:
        if getattr(args, "output", None) == "json" or (getattr(args, "output", None) is None and not sys.stdout.isatty()):
            _unknown_json(host, str(e))
        return _err(str(e))
    d = diagnose(ev)
    if args.record:
        from edgedoctor.recording import RecordingError, write_recording

        try:
            write_recording(args.record, ev)
        except RecordingError as e:
            _err(str(e))
            return EXIT_UNKNOWN
        if args.command == "record":
            print(f"recorded {host} to {args.record}: {d.verdict}", file=sys.stderr)
            return EXIT_CODES[d.verdict]
    output = args.output or ("text" if sys.stdout.isatty() else "json")
    if output == "json":
        from edgedoctor.output.jsonout import render_json

        sys.stdout.write(render_json(d))
    else:
        from edgedoctor.output.text import render_text

        color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
        sys.stdout.write(render_text(d, color=color))
    if d.verdict == "unknown":
        for reason in d.unknown_reasons[:3]:
            print(f"edgedoctor: could not establish {reason}", file=sys.stderr)
    return EXIT_CODES[d.verdict]


def _unknown_json(host: str, reason: str) -> None:
    import json

    from edgedoctor.collect import utc_now
    from edgedoctor.model import SCHEMA_VERSION

    doc = {
        "schema_version": SCHEMA_VERSION,
        "host": host,
        "verdict": "unknown",
        "category": None,
        "root_cause": None,
        "findings": [],
        "tree": [],
        "generated_at": utc_now(),
        "source": {},
        "unknown_reasons": [reason],
    }
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")


def cmd_checks(_: argparse.Namespace) -> int:
    from edgedoctor import catalog

    rows = catalog.all_entries()
    width = max(len(e["code"]) for e in rows)
    for e in sorted(rows, key=lambda e: (e.get("category", ""), e["code"])):
        print(f"{e['code']:<{width}}  {e.get('category', ''):<13}  {e.get('severity', ''):<8}  {e.get('title', '')}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from edgedoctor import catalog

    try:
        e = catalog.entry(args.code.strip().lower())
    except catalog.UnknownCode:
        return _err(f"unknown code {args.code!r}; `edgedoctor checks` lists them")
    out = [f"{e['code']}: {e.get('title', '')}", f"category: {e.get('category')}   default severity: {e.get('severity')}   node: {e.get('node')}", ""]
    out += [str(e.get("summary", "")).strip(), "", "Why it happens:"]
    out += [f"  {line}" for line in str(e.get("why", "")).strip().splitlines()]
    out += ["", "What edgedoctor looks at:"] + [f"  - {s}" for s in e.get("signals") or []]
    out += ["", "Confirm by hand:"] + [f"  $ {c.replace('{{', '{').replace('}}', '}')}" for c in e.get("confirm") or []]
    out += ["", "Remedy:"] + [f"  {line}" for line in str(e.get("remedy", "")).strip().splitlines()]
    if e.get("playbooks"):
        out += ["", "Playbooks: " + ", ".join(e["playbooks"])]
    if e.get("references"):
        out += ["", "References:"] + [f"  - {r}" for r in e["references"]]
    print("\n".join(out))
    return 0


def cmd_fix(args: argparse.Namespace) -> int:
    try:
        from edgedoctor.remedy.cli import run_fix
    except ImportError:
        return _err("playbooks are not available in this build")
    return run_fix(args)


def cmd_tui(args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec("textual") is None:
        return _err("the TUI needs textual, which is not installed: pip install 'textual>=0.80'")
    from edgedoctor.tui.launch import run_tui

    return run_tui(args)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        if not argv:
            if sys.stdin.isatty() and sys.stdout.isatty():
                argv = ["tui"]
            else:
                parser.print_usage(sys.stderr)
                return _err("give a command, e.g. `edgedoctor check HOST` (no terminal for the TUI)")
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_usage(sys.stderr)
            return EXIT_UNKNOWN
        handler = {
            "check": cmd_check,
            "record": cmd_check,
            "checks": cmd_checks,
            "explain": cmd_explain,
            "fix": cmd_fix,
            "tui": cmd_tui,
        }[args.command]
        if args.command == "record":
            args.output = None
            args.color = "never"
        return handler(args)
    except UsageError as e:
        return _err(str(e))
    except KeyboardInterrupt:
        print("edgedoctor: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


# Front ends that take the same flags as `check` (the TUI, `fix`) use these.
parse_host = _host
check_options = _options
