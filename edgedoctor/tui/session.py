"""Where the TUI's evidence comes from, in two phases, without textual.

Phase one reads the cluster (live with offline semantics, snapshot files, or a
recording) and is diagnosed at once so the tree shows early; phase two runs the
DNS/TLS/HTTP probes the same way `collect.gather` does and is diagnosed again.
A recording already holds its probes: it has one phase only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

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

    # -- the two phases (blocking: call from a thread worker)

    def options(self, host: str) -> CheckOptions:
        return replace(self.base, host=host)

    def read_cluster(self, host: str) -> Evidence:
        """The cluster evidence (or the whole recording); raises EvidenceError."""
        return _gather(replace(self.base, host=host, offline=True) if self.kind != "replay" else self.options(host))

    def probe(self, ev: Evidence) -> Evidence:
        """Adds the DNS/TLS/HTTP probes to `ev` exactly as `collect.gather` does."""
        from edgedoctor import collect

        opts = self.options(ev.host)
        args = collect.validate_probe_args(opts)
        # collect has no public "probe this evidence" entry point; _probe is the
        # piece gather() itself calls after reading the cluster.
        collect._probe(ev, opts, args)
        ev.options["offline"] = False
        return ev

    def diagnose(self, ev: Evidence) -> Diagnosis:
        from edgedoctor.diagnosis.engine import diagnose

        return diagnose(ev)

    def full(self, host: str) -> tuple[Evidence, Diagnosis]:
        """Both phases at once, for re-checks after a walkthrough step."""
        ev = self.read_cluster(host)
        if self.will_probe:
            ev = self.probe(ev)
        return ev, self.diagnose(ev)

    # -- switching

    def switch_context(self, name: str) -> None:
        """Read live from another kubeconfig context from now on."""
        self.base = replace(self.base, context=name, snapshots=[], replay=None)


def _gather(opts: CheckOptions) -> Evidence:
    from edgedoctor.collect import gather

    try:
        return gather(opts)
    except EvidenceError:
        raise
    except Exception as e:  # a bug in a reader must be a line on screen, not a dead worker
        raise EvidenceError(f"could not read the evidence: {type(e).__name__}: {e}") from None


def recording_host(path: str) -> str:
    """The host a recording was made for; raises EvidenceError (one line)."""
    from edgedoctor.recording import RecordingError, load_recording

    try:
        ev, _ = load_recording(path)
    except RecordingError as e:
        raise EvidenceError(str(e)) from None
    return ev.host


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
