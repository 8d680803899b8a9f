"""One check of one host, in stages: read the cluster -> probe -> diagnose.

`check`, `record` and `fix` want only the end (`check`); the TUI and a sweep show the
cluster's view while the probes still run (`CheckRun.stages`, or the stage methods
one by one from a worker thread). Both take their evidence from `collect` exactly the
same way, so a TUI's final diagnosis is the CLI's.

The cluster layers run once per evidence state: the analysis of the cluster stage
both diagnoses it and tells the probes what to ask (the Gateway's addresses, the
external-dns registry names, the ACME challenge names). The final diagnosis analyses
the cluster again because it is other evidence: the cluster layers read the probes'
DNS answers (`Ctx.probed_dns`: which of several Gateways serves the host, whether its
record is there). `check` does the same: one analysis of the cluster-only evidence for
the probes' plan (in `collect.gather`), one of the probed evidence for the diagnosis.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from edgedoctor import collect
from edgedoctor.collect import CheckOptions, EarlyProbes
from edgedoctor.diagnosis import engine
from edgedoctor.evidence import ClusterEvidence, Evidence
from edgedoctor.model import Diagnosis
from edgedoctor.timefmt import utc_now


@dataclass
class Stage:
    """What one stage of a check delivered."""

    name: str  # "cluster" (the objects; for a recording, all of it) or "probes"
    evidence: Evidence
    diagnosis: Diagnosis
    final: bool  # no stage follows


def check(opts: CheckOptions) -> tuple[Evidence, Diagnosis]:
    """All the evidence of one check and its diagnosis (raises collect.EvidenceError).

    A probed check analyses the cluster twice, once per evidence state (see above)."""
    ev = collect.gather(opts)
    return ev, engine.diagnose(ev)


class CheckRun:
    """The stages of one check of `opts.host`. Blocking: run it in a worker thread.

    Call `start_probes` first (the host's own DNS/TLS/HTTP probes run while the cluster
    is read), then `read_cluster`, `diagnose` (the cluster stage), `probe` and
    `diagnose` again; or iterate `stages()`, which does exactly that.
    """

    def __init__(self, opts: CheckOptions) -> None:
        self.opts = opts
        self._probe_args: dict[str, Any] | None = None
        self._early: EarlyProbes | None = None
        # The probe inputs from the cluster stage's analysis, and the cluster they are of.
        self._inputs: dict[str, Any] | None = None
        self._inputs_of: ClusterEvidence | None = None

    @property
    def will_probe(self) -> bool:
        """A recording holds its probes; --offline asks for none."""
        return not self.opts.replay and not self.opts.offline

    def start_probes(self) -> None:
        """Validate the probe flags (EvidenceError) and start the host's own probes."""
        if self.will_probe and self._early is None:
            self._probe_args = collect.validate_probe_args(self.opts)
            self._early = EarlyProbes(self.opts, self._probe_args)

    def read_cluster(self) -> Evidence:
        """The cluster's evidence without probe results (a recording: all of it)."""
        o = self.opts
        if o.replay:
            return collect.load_replay(o.replay, o.host, o.now)
        now = collect.parse_now(o.now) if o.now else utc_now()
        ca_pem = collect.read_ca_bundle(o.ca_bundle)
        return collect.cluster_evidence(dataclasses.replace(o, offline=True), now, ca_pem)

    def diagnose(self, ev: Evidence) -> Diagnosis:
        """The diagnosis of `ev`; for the cluster stage it also plans the probes."""
        analysis = engine.analyze_cluster(ev)
        if self.will_probe and ev.dns is None and ev.tls is None and ev.http is None:
            self._inputs, self._inputs_of = engine.probe_inputs(analysis), ev.cluster
        return engine.finish(analysis)

    def probe(self, ev: Evidence) -> Evidence:
        """Add the probe results to `ev` (the cluster stage's evidence, or a copy of it)."""
        self.start_probes()
        early, args = self._early, self._probe_args
        if early is None or args is None:
            raise collect.EvidenceError("this check runs no probes (a recording, or --offline)")
        results = early.result()
        inputs = self._inputs if self._inputs_of is ev.cluster else None
        if inputs is None:
            inputs = engine.probe_inputs(engine.analyze_cluster(ev))
        collect.complete_probes(ev, self.opts, args, results, early.seconds_left(), inputs)
        ev.options["offline"] = False
        return ev

    def cancel(self) -> None:
        """Stop waiting for the probes (they end at their own deadline)."""
        if self._early is not None:
            self._early.cancel()

    def stages(self) -> Iterator[Stage]:
        """The cluster stage, then (unless there is nothing to probe) the probes' stage."""
        try:
            self.start_probes()
            ev = self.read_cluster()
            yield Stage("cluster", ev, self.diagnose(ev), final=not self.will_probe)
            if self.will_probe:
                # The cluster stage's evidence stays as it was delivered; a copy is probed.
                probed = self.probe(dataclasses.replace(ev, options=dict(ev.options)))
                yield Stage("probes", probed, self.diagnose(probed), final=True)
        finally:
            self.cancel()
