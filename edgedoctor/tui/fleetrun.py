"""Where the fleet screen's hosts come from, without textual: the sweep of `edgedoctor
sweep` (edgedoctor.fleet.sweep) for the TUI's evidence flags, and the checker a host
opened from the fleet is diagnosed with afterwards (ctrl+r, walkthrough re-checks)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from edgedoctor.collect import CheckOptions, EvidenceError
from edgedoctor.evidence import Evidence
from edgedoctor.fleet.source import SweepError
from edgedoctor.fleet.sweep import (
    DEFAULT_PARALLEL,
    DEFAULT_TIMEOUT,
    HostResult,
    SweepOptions,
    SweepRun,
    validate,
)
from edgedoctor.model import Diagnosis
from edgedoctor.tui.session import Checker


class SweptChecker(Checker):
    """A host of a sweep recording: its evidence is the recording's, read again on ctrl+r
    (a sweep recording cannot be replayed as one check's recording)."""

    def __init__(self, base: CheckOptions, ev: Evidence) -> None:
        super().__init__(base)
        self.ev = ev

    def read_cluster(self, host: str) -> Evidence:
        if host != self.ev.host:
            raise EvidenceError(f"the sweep recording holds no check of {host}")
        return self.ev

    def full(self, host: str) -> tuple[Evidence, Diagnosis]:
        ev = self.read_cluster(host)
        return ev, self.diagnose(ev)


@dataclass
class FleetSource:
    """One sweep per `start()`; `checker` is the TUI's own, for the hosts opened from it."""

    options: SweepOptions
    checker: Checker

    def start(self) -> Any:
        """A SweepRun: reads every cluster (blocking: call from a thread worker)."""
        try:
            return SweepRun(self.options)
        except SweepError as e:
            raise EvidenceError(str(e)) from None

    def host_checker(self, result: HostResult) -> Checker:
        base = self.checker.base
        if base.replay:
            return SweptChecker(base, result.evidence)
        if not base.snapshots and result.context and result.context != base.context:
            return Checker(replace(base, context=result.context))  # --all-contexts: the host's own
        return self.checker


def fleet_options(base: CheckOptions, all_contexts: bool, timeout: float | None = None) -> SweepOptions:
    """The sweep of the TUI's evidence flags; raises EvidenceError for bad input.
    `timeout` is --timeout as given: the whole sweep's deadline, as for `edgedoctor sweep`
    (None: the sweep's default)."""
    opts = SweepOptions(
        contexts=[base.context] if base.context else [], all_contexts=all_contexts, kubeconfig=base.kubeconfig,
        snapshots=list(base.snapshots), replay=base.replay, nameservers=list(base.nameservers),
        authoritative=list(base.authoritative), resolve=list(base.resolve), ca_bundle=base.ca_bundle,
        offline=bool(base.offline) and not base.replay, now=base.now,
        timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        parallel=DEFAULT_PARALLEL,
    )
    try:
        validate(opts)
    except SweepError as e:
        raise EvidenceError(str(e)) from None
    return opts

