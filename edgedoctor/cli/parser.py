"""The argument parser of every subcommand (one module per subcommand holds its handler)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import NoReturn

from edgedoctor import __version__
from edgedoctor.app.args import UsageError, add_evidence_flags

_INVALID_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)")

HOST_HELP = ("the hostname users type; a pasted URL is fine (https://App.Example.com/path means "
             "app.example.com); IDN names become A-labels")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse exits 2; the contract says 3
        m = _INVALID_CHOICE.search(message)
        if m:
            # A mistyped subcommand (or choice): name the nearest one instead of the list.
            choices = re.findall(r"'([^']*)'", m.group(2))
            import difflib  # only for a mistyped choice

            near = difflib.get_close_matches(m.group(1), choices, n=1)
            what = "command" if "COMMAND" in message else "choice"
            hint = f"; did you mean '{near[0]}'?" if near else f"; one of: {', '.join(choices)}"
            raise UsageError(f"unknown {what} '{m.group(1)}'{hint}")
        raise UsageError(message)


def prog() -> str:
    """The name the user typed: `kubectl edgedoctor` through the kubectl plugin entry point."""
    base = os.path.basename(sys.argv[0] or "edgedoctor")
    return "kubectl edgedoctor" if base.startswith("kubectl-") else "edgedoctor"


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=prog(), description="From a hostname to the broken link of the Kubernetes edge.")
    p.add_argument("--version", action="version", version=f"edgedoctor {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    c = sub.add_parser("check", help="diagnose one hostname (scripts and monitoring)")
    c.add_argument("host", metavar="HOST", nargs="?", help=HOST_HELP + " (with --replay: the recording's host)")
    add_evidence_flags(c)
    c.add_argument("--record", metavar="FILE", help="also write a recording of this check (.gz: compressed)")
    c.add_argument("-o", "--output", choices=("text", "json"), help="text (default on a terminal) or json")
    c.add_argument("--color", choices=("auto", "always", "never"), default="auto")

    r = sub.add_parser("record", help="run a check and write its recording")
    r.add_argument("host", metavar="HOST", help=HOST_HELP)
    add_evidence_flags(r)
    r.add_argument("--file", "-f", dest="record", metavar="FILE", help="recording file to write (.gz: compressed)")
    # -o means the output format everywhere else; the old spelling still works, with a notice.
    r.add_argument("-o", "--output", dest="record_legacy", metavar="FILE", help=argparse.SUPPRESS)

    sub.add_parser("checks", help="list the catalog of root causes")
    e = sub.add_parser("explain", help="explain one root-cause code")
    e.add_argument("code", metavar="CODE", help="a root-cause code, e.g. cert-secret-missing (`edgedoctor checks` lists them)")

    f = sub.add_parser("fix", help="run a remediation playbook (dry-run unless confirmed)")
    f.add_argument("playbook", metavar="PLAYBOOK", nargs="?",
                   help="a playbook id, e.g. force-renew (`edgedoctor fix --list` lists them)")
    f.add_argument("host", metavar="HOST", nargs="?", help=HOST_HELP)
    add_evidence_flags(f)
    f.add_argument("--yes", action="store_true", help="apply changes without asking (scripts)")
    f.add_argument("--apply", action="store_true", help="leave dry-run: make the changes after confirmation")
    f.add_argument("--audit-log", metavar="FILE", help="where changes are logged (default ./edgedoctor-audit.log)")
    f.add_argument("--list", action="store_true", help="list the playbooks")
    f.add_argument("--token-file", metavar="PATH",
                   help="rotate-cloudflare-token: read the new token from this file (never printed or logged)")

    lt = sub.add_parser("lint", help="diagnose rendered GitOps manifests before they are merged")
    lt.add_argument("paths", metavar="PATH", nargs="+",
                    help="kustomize/helm/flux build output or YAML directories ('-' reads stdin)")
    lt.add_argument("--base", metavar="SNAPSHOT|RECORDING",
                    help="lay the manifests over this state and report each host before -> after")
    lt.add_argument("--context", metavar="NAME", help="the current state from this kubeconfig context instead")
    lt.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file for --context (never written)")
    lt.add_argument("-o", "--output", choices=("text", "json", "junit", "github"),
                    help="text (default on a terminal), json, junit or github (Actions annotations)")
    from edgedoctor.cli.sweep import add_sweep_parser

    add_sweep_parser(sub)

    from edgedoctor.cli.serve import add_serve_parser

    add_serve_parser(sub)

    t = sub.add_parser("tui", help="the interactive diagnosis (Textual)")
    t.add_argument("host", metavar="HOST", nargs="?", help=HOST_HELP + " (optional: type it in the TUI)")
    t.add_argument("--no-history", action="store_true",
                   help="keep the hosts typed in memory only (default: $XDG_STATE_HOME/edgedoctor/history; "
                        "EDGEDOCTOR_NO_HISTORY=1 does the same)")
    add_evidence_flags(t, timeout_help="the check's deadline (default 20); without HOST, the fleet's whole sweep's "
                                       "(default 120, as `edgedoctor sweep`)")
    t.add_argument("--all-contexts", action="store_true",
                   help="without HOST: the fleet of every context of the kubeconfig (default: the current one)")
    return p
