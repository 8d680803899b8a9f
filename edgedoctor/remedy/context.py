"""What the step builders share while a plan is made: the evidence, the diagnosis,
the engine's view of the host's chain (Gateway, listener, route, Certificate, ...)
and the placeholder values of the commands."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgedoctor.diagnosis.context import Ctx
from edgedoctor.diagnosis.index import ClusterIndex, Obj, meta, name_of, ns_of
from edgedoctor.evidence import Evidence
from edgedoctor.model import Diagnosis, Finding


@dataclass
class Expansion:
    """One concrete step made from a playbook step: its target and exact change."""

    target: str | None = None
    change: dict[str, Any] | None = None
    reads: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # extra placeholders
    label: str = ""  # appended to the title when a step expands into several
    explain: str = ""  # appended to the explanation
    command: str = ""  # overrides the template when the builder knows better
    satisfied: str | None = None
    blocked: str | None = None
    gitops: str | None = None
    git_snippet: str | None = None
    precondition: str | None = None
    choice: str | None = None
    option: str | None = None
    recommended: bool = False
    secret_input: str | None = None
    optional: bool = False


@dataclass
class PlanContext:
    ev: Evidence
    d: Diagnosis
    playbook: dict[str, Any]
    ctx: Ctx
    values: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    # Builders of later steps read what earlier ones decided (e.g. the Orders to delete).
    memo: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, ev: Evidence, d: Diagnosis, playbook: dict[str, Any]) -> PlanContext:
        # The engine's cluster layers are pure; running them again gives the same
        # chain (gateway, listener, route, certificate, challenges) the diagnosis used.
        from edgedoctor.diagnosis.engine import cluster_context

        ctx = cluster_context(ev)
        return cls(ev=ev, d=d, playbook=playbook, ctx=ctx, values=_values(ctx))

    @property
    def idx(self) -> ClusterIndex:
        return self.ctx.idx

    @property
    def host(self) -> str:
        return self.ev.host

    def finding(self, *codes: str) -> Finding | None:
        for f in self.d.findings:
            if f.code in codes:
                return f
        return None


def obj_ref(obj: Obj) -> str:
    ns = ns_of(obj)
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{name_of(obj)}"


def kref(kind: str, namespace: str | None, name: str) -> str:
    return f"{kind} {namespace + '/' if namespace else ''}{name}"


def uid_of(obj: Obj) -> str | None:
    u = meta(obj).get("uid")
    return str(u) if u else None


def _values(ctx: Ctx) -> dict[str, Any]:
    from edgedoctor.diagnosis.engine import placeholder_values

    v: dict[str, Any] = dict(placeholder_values(ctx))
    if ctx.http_listener is not None:
        v["http_listener"] = ctx.http_listener.name
    if v.get("issuer"):
        v["issuer_kubectl"] = (f"clusterissuer {v['issuer']}" if v["issuer_kind"] == "ClusterIssuer"
                               else f"-n {v['certificate_namespace']} issuer {v['issuer']}")
    cm = ctx.controller("cert-manager")
    if cm is not None:
        v["cert_manager_namespace"], v["cert_manager_deployment"] = cm.namespace, cm.name
        v["cert_manager_version"] = cm.version_text or "unknown"
    return v
