"""Where the TUI's evidence comes from, in two phases, without textual.

Phase one reads the cluster (live with offline semantics, snapshot files, or a
recording) and is diagnosed at once so the tree shows early; phase two runs the
DNS/TLS/HTTP probes and is diagnosed again. Both are the stages of
`edgedoctor.app.run.CheckRun`, the same as `edgedoctor check` runs.
A recording already holds its probes: it has one phase only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeVar

from edgedoctor.collect import CheckOptions, EvidenceError, parse_now
from edgedoctor.evidence import Evidence
from edgedoctor.model import Diagnosis

if TYPE_CHECKING:
    from edgedoctor.app.run import CheckRun

PROBE_NODES = ("dns", "served-certificate", "http-redirect")
T = TypeVar("T")


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
                # what reading a recording adds after loading it is only --now.
                if self.base.now:
                    ev.now = parse_now(self.base.now)
                return ev
        from edgedoctor.app.run import CheckRun  # the engine loads when a check runs

        return _guarded(CheckRun(self.options(host)).read_cluster)

    def begin_probes(self, host: str) -> CheckRun | None:
        """Start the host's own probes now, to run while the cluster is read; None when
        this check has nothing to probe. Raises EvidenceError for bad probe flags."""
        if not self.will_probe:
            return None
        from edgedoctor.app.run import CheckRun

        run = CheckRun(self.options(host))
        run.start_probes()
        return run

    def probe(self, ev: Evidence, run: CheckRun | None = None) -> Evidence:
        """Adds the DNS/TLS/HTTP probes to `ev` exactly as `edgedoctor check` gathers them."""
        from edgedoctor.app.run import CheckRun

        run = run or CheckRun(replace(self.options(ev.host), offline=False))
        return run.probe(ev)

    def diagnose(self, ev: Evidence, run: CheckRun | None = None) -> Diagnosis:
        """The diagnosis of `ev`; with the run of its probes, the cluster stage's analysis
        also plans those probes (the cluster layers run once)."""
        if run is not None:
            return run.diagnose(ev)
        from edgedoctor.diagnosis.engine import diagnose

        return diagnose(ev)

    def full(self, host: str) -> tuple[Evidence, Diagnosis]:
        """Both phases at once, as `edgedoctor check` runs them (re-checks after a step)."""
        from edgedoctor.app.run import check

        return _guarded(lambda: check(self.options(host)))

    # -- switching

    def switch_context(self, name: str) -> None:
        """Read live from another kubeconfig context from now on."""
        self.base = replace(self.base, context=name, snapshots=[], replay=None)


def _guarded(read: Callable[[], T]) -> T:
    try:
        return read()
    except EvidenceError:
        raise
    except Exception as e:  # a bug in a reader must be a line on screen, not a dead worker
        raise EvidenceError(f"could not read the evidence: {type(e).__name__}: {e}") from None


def load_replay(path: str, sweep_ok: bool = False) -> Evidence | None:
    """The evidence of a check's recording; raises EvidenceError (one line). With
    `sweep_ok`, a sweep's recording is None instead of an error: the file is read once
    to tell which it is (the YAML is most of the first screen's wait)."""
    from edgedoctor.collect import as_replay
    from edgedoctor.recording import RecordingError, load_recording, read_recording_doc

    try:
        doc = read_recording_doc(path, ("evidence", "sweep") if sweep_ok else "evidence")
        if sweep_ok and isinstance(doc.get("sweep"), dict):
            return None
        ev, _ = load_recording(path, doc)
    except RecordingError as e:
        raise EvidenceError(str(e)) from None
    return as_replay(ev)


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
