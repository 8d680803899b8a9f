"""Hosts and evidence options as every front end takes them (`check`, `record`, `fix`,
`tui`): the flags, and their translation into a `CheckOptions`.

Bad input raises `UsageError` with one line for the user; the front end prints it and
exits 3.
"""

from __future__ import annotations

import argparse
from typing import Any

from edgedoctor.collect import CheckOptions


class UsageError(Exception):
    """Input the user gave cannot be used; the message is one line."""


CHECK_TIMEOUT_HELP = "the whole check's deadline (default 20)"


def add_evidence_flags(p: argparse.ArgumentParser, *, many_contexts: bool = False,
                       timeout_help: str = CHECK_TIMEOUT_HELP) -> None:
    """The flags that say where a check's evidence comes from (`many_contexts`: --context
    is repeatable, for the fleet commands). --timeout defaults to None: each command
    knows its own default (a check's 20 s, a sweep's 120 s), said in `timeout_help`."""
    g = p.add_argument_group("where the evidence comes from")
    g.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file (as kubectl; never written)")
    if many_contexts:
        g.add_argument("--context", metavar="NAME", action="append", default=[],
                       help="kubeconfig context (as kubectl; repeatable)")
    else:
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
    g.add_argument("--timeout", metavar="SECONDS", type=float, help=timeout_help)


def parse_host(raw: str) -> str:
    """The hostname in what people paste (a URL, a trailing dot, an IDN); raises UsageError."""
    from edgedoctor.hostname import HostnameError, normalize_host

    try:
        return normalize_host(raw)
    except HostnameError as e:
        raise UsageError(str(e)) from None


def check_options(args: argparse.Namespace, host: str) -> CheckOptions:
    """The evidence flags of `args` (see `add_evidence_flags`) for `host`; raises UsageError."""
    if args.replay and (args.snapshot or args.kubeconfig or args.context):
        raise UsageError("--replay takes all evidence from the recording; drop --snapshot/--kubeconfig/--context")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    timeout = CheckOptions.timeout if args.timeout is None else args.timeout  # None: a check's default
    return CheckOptions(host=host, context=args.context, timeout=timeout, **evidence_fields(args))


def evidence_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The evidence flags that `check` and `sweep` share, as option-class keywords."""
    return {
        "kubeconfig": args.kubeconfig,
        "snapshots": list(args.snapshot),
        "replay": args.replay,
        "nameservers": list(args.nameserver),
        "authoritative": list(args.authoritative),
        "resolve": list(args.resolve),
        "ca_bundle": args.ca_bundle,
        "offline": bool(args.offline),
        "now": args.now,
    }
