"""Where the TUI's evidence comes from, in two phases, without textual.

Phase one reads the cluster (live with offline semantics, snapshot files, or a
recording) and is diagnosed at once so the tree shows early; phase two runs the
DNS/TLS/HTTP probes the same way `collect.gather` does and is diagnosed again.
A recording already holds its probes: it has one phase only.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from edgedoctor.collect import CheckOptions, EvidenceError
from edgedoctor.evidence import Evidence
from edgedoctor.model import Diagnosis

PROBE_NODES = ("dns", "served-certificate", "http-redirect")


@dataclass
class SourceInfo:
    kind: str  # live | snapshot | replay
    label: str  # one line for the header, never an absolute path
    context: str | None = None
    cluster: str | None = None


def _names(paths: list[str]) -> str:
    names = [os.path.basename(os.path.normpath(p)) or p for p in paths]
    return ", ".join(names)


class Checker:
    """Runs checks for any host with the evidence flags the app was started with."""

    def __init__(self, base: CheckOptions) -> None:
        self.base = base
        # A recording already read (and checked) before the app started: used once.
        self.preloaded: Evidence | None = None

    # -- what the header says

    @property
    def kind(self) -> str:
        if self.base.replay:
            return "replay"
        return "snapshot" if self.base.snapshots else "live"

    @property
    def read_only(self) -> bool:
        """Replays and snapshots are pictures: a walkthrough shows, changes nothing."""
        return self.kind != "live"

    @property
    def will_probe(self) -> bool:
        return self.kind != "replay" and not self.base.offline

    def source(self, ev: Evidence | None = None) -> SourceInfo:
        kind = self.kind
        if kind == "replay":
            label = f"replay ({_names([self.base.replay or ''])})"
            ctx = cluster = None
            if ev is not None:
                ctx = ev.source.get("context") or ev.cluster.context
                cluster = ev.source.get("cluster") or ev.cluster.cluster
            return SourceInfo(kind, label, ctx, cluster)
        if kind == "snapshot":
            return SourceInfo(kind, f"snapshot ({_names(self.base.snapshots)})")
        label = "live" if self.will_probe else "live, offline"
        if ev is not None:
            return SourceInfo(kind, label, ev.cluster.context, ev.cluster.cluster)
        return SourceInfo(kind, label, self.base.context or current_context(self.base.kubeconfig))

    def tidy(self, message: str) -> str:
        """An error line with the evidence files named as the header names them."""
        for path in [self.base.replay or "", *self.base.snapshots]:
            if path and os.sep in path:
                message = message.replace(path, _names([path]))
        return message

    # -- the two phases (blocking: call from a thread worker)

    def options(self, host: str) -> CheckOptions:
        return replace(self.base, host=host)

    def read_cluster(self, host: str) -> Evidence:
        """The cluster evidence (or the whole recording); raises EvidenceError."""
        if self.kind == "replay":
            ev, self.preloaded = self.preloaded, None
            if ev is not None and ev.host == host:
                # The recording read by `prepare` to check it before the app started;
                # what gather() does after loading a recording is only --now.
                from edgedoctor.collect import parse_now

                if self.base.now:
                    ev.now = parse_now(self.base.now)
                return ev
            return _gather(self.options(host))
        return _gather(replace(self.base, host=host, offline=True))

    def begin_probes(self, host: str) -> ProbeRun | None:
        """Start the host's own probes now, to run while the cluster is read (as gather does)."""
        return ProbeRun(self.options(host)) if self.will_probe else None

    def probe(self, ev: Evidence, run: ProbeRun | None = None) -> Evidence:
        """Adds the DNS/TLS/HTTP probes to `ev` exactly as `collect.gather` does."""
        run = run or ProbeRun(self.options(ev.host))
        return run.finish(ev)

    def diagnose(self, ev: Evidence) -> Diagnosis:
        from edgedoctor.diagnosis.engine import diagnose

        return diagnose(ev)

    def full(self, host: str) -> tuple[Evidence, Diagnosis]:
        """Both phases at once, as `edgedoctor check` runs them (re-checks after a step)."""
        ev = _gather(self.options(host))
        return ev, self.diagnose(ev)

    # -- switching

    def switch_context(self, name: str) -> None:
        """Read live from another kubeconfig context from now on."""
        self.base = replace(self.base, context=name, snapshots=[], replay=None)


class ProbeRun:
    """The probes of one check, split around the cluster read like `collect.gather`.

    collect has no public "probe this evidence" entry point; this calls the pieces
    gather() itself uses (_plan, _run, _complete_probes) and, should they change,
    falls back to a second gather() with probes and takes its DNS/TLS/HTTP part.
    """

    def __init__(self, opts: CheckOptions) -> None:
        from edgedoctor import collect

        self.opts = opts
        self.args = collect.validate_probe_args(opts)
        self.started = time.monotonic()
        self._pool: ThreadPoolExecutor | None = None
        self._early: Future[Any] | None = None
        plan, run = getattr(collect, "_plan", None), getattr(collect, "_run", None)
        if plan is not None and run is not None and hasattr(collect, "_complete_probes"):
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edgedoctor-tui-probes")
            self._early = self._pool.submit(run, plan(opts, self.args, opts.timeout))

    def finish(self, ev: Evidence) -> Evidence:
        from edgedoctor import collect

        if self._early is None or self._pool is None:
            full = _gather(replace(self.opts, offline=False))
            ev.dns, ev.tls, ev.http = full.dns, full.tls, full.http
            ev.options.update({k: v for k, v in full.options.items() if k != "ca_bundle_pem"})
        else:
            try:
                early = self._early.result()
            finally:
                self._pool.shutdown(wait=False)
            left = max(1.0, self.opts.timeout - (time.monotonic() - self.started))
            collect._complete_probes(ev, self.opts, self.args, early, left)
        ev.options["offline"] = False
        return ev

    def cancel(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


def _gather(opts: CheckOptions) -> Evidence:
    from edgedoctor.collect import gather

    try:
        return gather(opts)
    except EvidenceError:
        raise
    except Exception as e:  # a bug in a reader must be a line on screen, not a dead worker
        raise EvidenceError(f"could not read the evidence: {type(e).__name__}: {e}") from None


def load_replay(path: str) -> Evidence:
    """The evidence of a recording; raises EvidenceError (one line)."""
    from edgedoctor.recording import RecordingError, load_recording

    try:
        ev, _ = load_recording(path)
    except RecordingError as e:
        raise EvidenceError(str(e)) from None
    return ev


def kube_contexts(kubeconfig: str | None) -> tuple[list[str], str | None]:
    """Context names and the current one, parsed with PyYAML (no kubernetes client)."""
    from edgedoctor.kube.config import LiveConfigError, kubeconfig_paths, merge_kubeconfigs

    try:
        merged = merge_kubeconfigs(kubeconfig_paths(kubeconfig))
    except LiveConfigError:
        return [], None
    return sorted(merged.contexts), merged.current_context


def current_context(kubeconfig: str | None) -> str | None:
    return kube_contexts(kubeconfig)[1]
