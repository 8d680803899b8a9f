"""`edgedoctor tui [HOST]`: check the flags, then start the app.

Without a host it opens the fleet screen: every host of the current context (or of
`--all-contexts`, a snapshot, or a sweep recording given to `--replay`); a check's
recording opens its one host; with no kubeconfig context at all, the host input as before.

Textual is imported only inside build_app. Bad input given on the command line
(a bad host, a recording that cannot be read, a bad --nameserver) is one line
on stderr and exit 3 before the app starts, as for `edgedoctor check`; input
typed inside the app is reported inside the app.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from edgedoctor.app.args import UsageError, check_options, parse_host
from edgedoctor.app.exitcodes import EXIT_OK, EXIT_UNKNOWN
from edgedoctor.collect import EvidenceError, parse_now, validate_probe_args
from edgedoctor.tui.prefetch import Pending

if TYPE_CHECKING:
    from edgedoctor.evidence import Evidence
    from edgedoctor.model import Diagnosis


def _fail(msg: str) -> int:
    print(f"edgedoctor: {msg}", file=sys.stderr)
    return EXIT_UNKNOWN


def history_disabled_by_env() -> bool:
    """EDGEDOCTOR_NO_HISTORY set to anything but empty, 0, false or no turns the history file off."""
    return os.environ.get("EDGEDOCTOR_NO_HISTORY", "").strip().lower() not in ("", "0", "false", "no")


def prepare(args: argparse.Namespace):
    """(Checker, host or None, History) from the parsed flags; raises UsageError/EvidenceError."""
    return prepare_all(args)[:3]


def _fleet_wanted(args: argparse.Namespace, opts, sweep_file: bool) -> bool:
    """No host given: is there a fleet to show? (else the host input, as before the fleet)"""
    if sweep_file or opts.snapshots or getattr(args, "all_contexts", False):
        return True
    if opts.replay:
        return False
    from edgedoctor.tui.session import current_context

    return bool(opts.context or os.environ.get("KUBERNETES_SERVICE_HOST") or current_context(opts.kubeconfig))


def prepare_all(args: argparse.Namespace, read_replay: Callable[[str, bool], Evidence | None] | None = None):
    """(Checker, host or None, History, FleetSource or None) from the parsed flags.

    `read_replay(path, sweep_ok)` reads --replay (default: session.load_replay); build_app
    passes the recording a child process read meanwhile."""
    from edgedoctor.tui.history import History, default_path
    from edgedoctor.tui.session import Checker, load_replay

    read_replay = read_replay or load_replay

    host = parse_host(args.host) if args.host else None
    opts = check_options(args, host or "")
    if opts.now:
        parse_now(opts.now)
    if host is not None and getattr(args, "all_contexts", False):
        raise UsageError("--all-contexts is for the fleet screen: give no HOST")
    preloaded = None
    sweep_file = False
    if opts.replay:
        # Without a host the file may also be a sweep's recording (the fleet screen).
        preloaded = read_replay(opts.replay, host is None)
        sweep_file = preloaded is None
    if preloaded is not None:
        if host is None:
            host = preloaded.host  # a recording holds one host: show it at once
        elif host != preloaded.host:
            raise EvidenceError(f"{opts.replay} is a recording of {preloaded.host}, not {host}")
    elif not opts.offline:
        validate_probe_args(opts)
    if opts.snapshots:
        from edgedoctor.snapshot import SnapshotError, load_snapshot

        try:
            load_snapshot(opts.snapshots)  # unreadable files fail here, not in the app
        except SnapshotError as e:
            raise EvidenceError(str(e)) from None
    keep = not (getattr(args, "no_history", False) or history_disabled_by_env())
    checker = Checker(opts)
    checker.preloaded = preloaded
    fleet = None
    if host is None and _fleet_wanted(args, opts, sweep_file):
        from edgedoctor.tui.fleetrun import FleetSource, fleet_options

        fleet = FleetSource(fleet_options(opts, bool(getattr(args, "all_contexts", False)), args.timeout), checker)
    return checker, host, History(default_path() if keep else None), fleet


def _read_and_diagnose(args: argparse.Namespace) -> tuple[Evidence | None, Diagnosis | None]:
    """The --replay recording (None: a sweep's) and its diagnosis (None if the engine
    failed: the caller then runs it again, to fail as it always did)."""
    from edgedoctor.tui.session import load_replay

    ev = load_replay(args.replay, sweep_ok=not args.host)
    if ev is None:
        return None, None
    try:
        now = getattr(args, "now", None)
        if now:
            ev.now = parse_now(now)  # as Checker.read_cluster does
        from edgedoctor.diagnosis.engine import diagnose

        return ev, diagnose(ev)
    except Exception:
        return ev, None


def build_app(args: argparse.Namespace):
    """The app for these flags (raises UsageError/EvidenceError)."""
    # The first screen allocates much and frees little: the collector's passes over the
    # growing heap would cost a tenth of its time. The app resumes it after its first frame.
    gc.disable()
    try:
        return _build_app(args)
    except BaseException:
        gc.enable()
        raise


def _build_app(args: argparse.Namespace):
    # Forked only when Textual is still to be imported: that is the work done meanwhile.
    aside = getattr(args, "replay", None) and "textual.app" not in sys.modules
    replay = Pending(lambda: _read_and_diagnose(args)) if aside else None
    try:
        # Textual loads here while a child process reads and diagnoses the replay.
        from edgedoctor.tui.app import EdgeDoctorApp

        read = (lambda _path, _sweep_ok: replay.result()[0]) if replay else None
        checker, host, history, fleet = prepare_all(args, read)
        initial = None
        if host and checker.kind == "replay":
            # A replay needs no worker: diagnosed before the app exists, the first
            # frame Textual draws already holds the tree (one render pass, not two).
            ev = checker.read_cluster(host)
            prefetched, d = replay.result() if replay else (None, None)
            initial = (ev, d if prefetched is ev and d is not None else checker.diagnose(ev))
    finally:
        if replay:
            replay.close()
    return EdgeDoctorApp(checker, host, history, initial=initial, fleet=fleet)


def run_tui(args: argparse.Namespace) -> int:
    try:
        app = build_app(args)
    except (UsageError, EvidenceError) as e:
        return _fail(str(e))
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        # Without a terminal the app would wait for one forever: after the flags are
        # checked (bad input is said first), say so and stop.
        return _fail("the TUI needs a terminal (stdin and stdout are not one); use `edgedoctor check HOST` "
                     "in scripts")
    app.run()
    return EXIT_OK
