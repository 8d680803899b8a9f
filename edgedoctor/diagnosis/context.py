"""What the layers of one diagnosis share: the evidence, the index, and what each
layer found for the layers after it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from edgedoctor.diagnosis.controllers import Controller
from edgedoctor.diagnosis.findings import new_finding
from edgedoctor.diagnosis.index import ClusterIndex, Obj
from edgedoctor.evidence import Evidence
from edgedoctor.model import Finding, NodeResult, Status
from edgedoctor.timefmt import parse_rfc3339


@dataclass
class Listener:
    """One listener of a Gateway, with its status entry. Read-only: its fields are read
    once (a Listener may serve many diagnoses, see ClusterIndex.derived)."""

    gateway: Obj
    spec: dict[str, Any]
    status: dict[str, Any] | None

    @cached_property
    def name(self) -> str:
        return str(self.spec.get("name") or "")

    @cached_property
    def hostname(self) -> str | None:
        h = self.spec.get("hostname")
        return str(h).lower() if h else None

    @cached_property
    def protocol(self) -> str:
        return str(self.spec.get("protocol") or "").upper()

    @cached_property
    def port(self) -> int | None:
        p = self.spec.get("port")
        return p if isinstance(p, int) else None


@dataclass
class Ctx:
    ev: Evidence
    idx: ClusterIndex
    host: str
    now: datetime
    controllers: dict[str, list[Controller]]
    nodes: dict[str, NodeResult] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    # Filled in as the layers run.
    gatewayclass: Obj | None = None
    gateway: Obj | None = None
    listener: Listener | None = None
    http_listener: Listener | None = None
    route: Obj | None = None
    route_parent_status: dict[str, Any] | None = None
    route_accepted: bool = False
    secret_ref: tuple[str, str] | None = None  # (namespace, name) of the listener's Secret
    secret: Obj | None = None
    secret_pem: str | None = None
    # The Secret could not be read, and the certificate the listener serves stood in for it.
    secret_from_wire: bool = False
    certificate: Obj | None = None
    challenges: list[Obj] = field(default_factory=list)
    # Set when the listener's certificate is the reason routes are not accepted
    # (Envoy Gateway <= v1.8.1 NoReadyListeners), so it is not blamed on routing.
    listener_cert_broken: bool = False
    expected_addresses: list[str] = field(default_factory=list)
    expected_from: str = "none"
    notes: list[str] = field(default_factory=list)

    @property
    def probed_dns(self) -> dict[str, Any] | None:
        """The probes' DNS answers (None before the probes ran, or without them).

        The one way the cluster layers read the probes' evidence: which of several
        Gateways DNS points at, whether the host's record is there and whether external-dns
        still has to be blamed for it. So the same cluster is other evidence before and
        after the probes, and a probed check analyses it once for each
        (`engine.analyze_cluster`)."""
        return self.ev.dns

    def set_node(
        self, node: str, status_: Status, summary: str, **details: Any
    ) -> NodeResult:
        nr = NodeResult(node, status_, summary, {k: v for k, v in details.items() if v is not None})
        self.nodes[node] = nr
        return nr

    def add(
        self,
        code: str,
        message: str,
        *,
        severity: str | None = None,
        node: str | None = None,
        evidence: dict[str, Any] | None = None,
        commands: list[str] | None = None,
        explained_by: str | None = None,
    ) -> Finding:
        """Report `code`; its severity and node come from its catalog entry (`severity` and
        `node` only for the other ones the entry declares)."""
        f = new_finding(code, message, severity=severity, node=node, evidence=evidence,
                        commands=commands or [], explained_by=explained_by)
        self.findings.append(f)
        return f

    def controller(self, role: str) -> Controller | None:
        cs = self.controllers.get(role) or []
        for c in cs:
            if c.available:
                return c
        return cs[0] if cs else None

    def minutes_since(self, text: Any) -> float | None:
        """Minutes from `text` to now; None (never negative) when it lies after now."""
        t = parse_rfc3339(text)
        if t is None or t > self.now:
            return None
        return (self.now - t).total_seconds() / 60.0

    def age_minutes(self, obj: Obj) -> float | None:
        """How long ago `obj` was created, judged at now; never negative.

        An object created after the instant judged at (a --now before the server made it,
        as when a recording's objects are loaded into another cluster) has no age there:
        that is said once in the notes, and the age is taken from the earliest status time
        of the object or of its owners (a CertificateRequest's Approved condition for its
        Order and Challenges), which the controllers wrote at that time, or left unknown.
        """
        from edgedoctor.diagnosis.index import meta, ref

        text = meta(obj).get("creationTimestamp")
        created = parse_rfc3339(text)
        if created is None:
            return None
        if created <= self.now:
            return (self.now - created).total_seconds() / 60.0
        note = (f"{obj.get('kind')} {ref(obj)} was created at {text}, after the instant judged at "
                f"({self.now.strftime('%Y-%m-%dT%H:%M:%SZ')}): its age is taken from its status times or unknown")
        if note not in self.notes:
            self.notes.append(note)
        seen = self.idx.status_times(obj)
        past = [t for t in seen if t <= self.now]
        return (self.now - min(past)).total_seconds() / 60.0 if past else None
