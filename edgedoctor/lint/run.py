"""Lint: every host the manifests define, diagnosed from the specs alone.

The tree's objects get the statuses their controllers would write (`predict`), then the
engine's own layers run for each host over one shared index (`hostview`), with no DNS,
TLS or HTTP evidence. Each finding is tied back to the object it is about, and that
object to its file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from edgedoctor.diagnosis.context import Ctx
from edgedoctor.diagnosis.engine import diagnose_context
from edgedoctor.diagnosis.index import ClusterIndex, Obj, as_dict, as_list, name_of, ns_of, spec
from edgedoctor.diagnosis.ranking import dedupe, rank
from edgedoctor.diagnosis.routes import ROUTE_KINDS, route_hostnames
from edgedoctor.evidence import ClusterEvidence, Evidence
from edgedoctor.hostname import HostnameError, normalize_host
from edgedoctor.lint import gitops, rules
from edgedoctor.lint.hostview import SharedIndex
from edgedoctor.lint.load import Location, Manifests
from edgedoctor.lint.predict import predict_statuses
from edgedoctor.model import NODE_ORDER, Finding
from edgedoctor.timefmt import utc_now

_PLAIN_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_NODE_INDEX = {n: i for i, n in enumerate(NODE_ORDER)}
SEVERITY_VERDICT = {"critical": "critical", "warning": "warning"}
VERDICT_RANK = {"ok": 0, "warning": 1, "critical": 2}
# Kinds a tree that holds a Gateway holds completely: their absence is meaningful.
_GATEWAY_COMPANIONS = ("ReferenceGrant", "ClientTrafficPolicy")
# Roles of the controllers of the edge (see diagnosis.controllers).
EDGE_ROLES = ("cert-manager", "envoy-gateway", "external-dns", "k8s-gateway")


@dataclass
class LintFinding:
    code: str
    severity: str
    category: str | None
    message: str
    node: str
    object: str | None
    location: Location | None
    related: list[tuple[str, Location | None]] = field(default_factory=list)

    def key(self) -> tuple[Any, ...]:
        return (self.code, self.message)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity,
            "category": self.category,
            "message": self.message,
            "file": self.location.file if self.location else None,
            "line": self.location.line if self.location else None,
            "object": self.object,
        }
        if self.related:
            out["related"] = [{"object": o, "file": loc.file if loc else None, "line": loc.line if loc else None}
                              for o, loc in self.related]
        return out


@dataclass
class HostResult:
    host: str
    verdict: str
    category: str | None
    root_code: str | None
    findings: list[LintFinding]
    before: dict[str, Any] | None = None
    has_before: bool = False
    # Links the objects given could not judge (e.g. no Gateway among them): not a pass.
    not_judged: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "host": self.host,
            "verdict": self.verdict,
            "category": self.category,
            "root_cause": {"code": self.root_code} if self.root_code else None,
            "findings": [f.to_dict() for f in self.findings],
        }
        if self.has_before:
            out["before"] = self.before
        if self.not_judged:
            out["not_judged"] = self.not_judged
        return out


class World:
    """The objects to diagnose, indexed once, with where each one is written."""

    def __init__(self, objects: list[Obj], where: dict[int, Location], kinds_read: list[str]) -> None:
        self.objects = objects
        self.where = where
        self.cluster = ClusterEvidence(objects=objects, kinds_read=kinds_read)
        self.idx = SharedIndex(self.cluster)
        from edgedoctor.diagnosis.controllers import find_controllers

        self.controllers = find_controllers(self.idx)
        self.now = utc_now()

    def locate(self, obj: Obj | None) -> Location | None:
        return self.where.get(id(obj)) if obj is not None else None

    def find(self, kind: str, ref: str | None) -> Obj | None:
        if not ref:
            return None
        ns, _, name = ref.rpartition("/")
        return self.idx.get(kind, ns, name)


def prepare(m: Manifests) -> World:
    """The manifests plus what their HelmReleases/Applications render, indexed once, with
    the statuses their controllers would write."""
    objects = list(m.objects)
    where = dict(m.where)
    for o in m.objects:
        for synth in gitops.synthesize(o):
            objects.append(synth)
            where[id(synth)] = m.where[id(o)]
    seen, seen_where, kinds = finish(objects, where)
    w = World(seen, seen_where, kinds)
    # Statuses are written in place: the index holds the same objects. The full list (with
    # Secrets) tells which Secrets something writes.
    predict_statuses(objects, index=w.idx)
    w.idx.forget_derived()  # facts derived before the statuses were written
    return w


def finish(objects: list[Obj], where: dict[int, Location],
           extra_read: tuple[str, ...] = ()) -> tuple[list[Obj], dict[int, Location], list[str]]:
    """The objects the engine sees, and which kinds count as read.

    Secrets are dropped: from manifests their existence is what the predicted listener
    status says (a Certificate will write it), and their data is never needed. Deployments
    count only in a tree that deploys an edge controller: application Deployments say
    nothing about whether cert-manager runs elsewhere.
    """
    from edgedoctor.diagnosis.controllers import find_controllers

    objects = [o for o in objects if o.get("kind") != "Secret"]
    kinds = {str(o.get("kind")) for o in objects}
    probe = ClusterIndex(ClusterEvidence(objects=[o for o in objects if o.get("kind") == "Deployment"]))
    if not find_controllers(probe):
        objects = [o for o in objects if o.get("kind") != "Deployment"]
        kinds.discard("Deployment")
    if "Gateway" in kinds:
        kinds.update(_GATEWAY_COMPANIONS)
    kinds.update(extra_read)
    return objects, where, sorted(kinds)


def hosts_of(objects: list[Obj]) -> list[str]:
    """Every concrete hostname the manifests define: route hostnames and exact listener
    hostnames (wildcards stand for names no one can check)."""
    names: set[str] = set()
    for o in objects:
        kind = o.get("kind")
        cands: list[str] = []
        if kind in ROUTE_KINDS:
            cands = route_hostnames(o)
        elif kind == "Gateway":
            cands = [str(as_dict(ls).get("hostname")) for ls in as_list(spec(o).get("listeners"))
                     if as_dict(ls).get("hostname")]
        for c in cands:
            if c.startswith("*"):
                continue
            if (len(c) <= 253 and "." in c and "xn--" not in c and _PLAIN_HOST.fullmatch(c)
                    and not c.rsplit(".", 1)[1].isdigit()):
                names.add(c)  # already what normalize_host returns: lower-case LDH labels
                continue
            try:
                names.add(normalize_host(c))
            except HostnameError:
                continue
    return sorted(names)


def _route_by_ev(w: World, ev: Any) -> Obj | None:
    if not isinstance(ev, dict):
        return None
    return w.find(str(ev.get("kind") or "HTTPRoute"), ev.get("route"))


def _subject(w: World, ctx: Ctx, f: Finding) -> tuple[Obj | None, list[Obj]]:
    """The object a finding is about, and others worth naming with it."""
    e = f.evidence or {}
    code = f.code
    cert, gw, route = ctx.certificate, ctx.gateway, ctx.route
    if code == "gatewayclass-not-accepted":
        return ctx.gatewayclass or gw, [gw] if ctx.gatewayclass is not None else []
    if code in ("route-not-accepted", "route-backend-unresolved"):
        return _route_by_ev(w, e) or w.find("HTTPRoute", e.get("route")) or route, [gw]
    if code == "route-shadowed-by-wildcard":
        return _route_by_ev(w, e.get("specific_route")) or route, [_route_by_ev(w, e.get("served_by"))]
    if code == "route-conflict":
        return _route_by_ev(w, e.get("loser")), [_route_by_ev(w, e.get("winner"))]
    if code == "listener-no-match":
        routes = [r for k in ROUTE_KINDS for r in ctx.idx.all(k) if ctx.host in route_hostnames(r)]
        return (routes[0] if routes else None), []
    if code == "route-missing":
        return gw, []
    if code == "cert-secret-name-mismatch":
        return gw, [w.find("Certificate", e.get("certificate"))]
    if code in ("cert-refgrant-missing", "cert-secret-missing"):
        return gw, [cert]
    if code in ("dns-no-record", "external-dns-down"):
        eds = [c.deployment for c in ctx.controllers.get("external-dns") or []]
        return (eds[0] if eds else route), [route]
    if code == "dns-internal-split-horizon":
        return w.find("Deployment", e.get("deployment")), [route]
    if code == "proxy-protocol-mismatch":
        return w.find("ClientTrafficPolicy", e.get("policy")) or gw, [gw]
    if code == "redirect-missing":
        return (route if e.get("loop") else gw), []
    if code == "cert-manager-down":
        cms = [c.deployment for c in ctx.controllers.get("cert-manager") or []]
        return (cms[0] if cms else cert), []
    if code in ("cert-manager-v1160-issuer-namespace", "cert-cloudflare-7003-cleanup"):
        cms = [c.deployment for c in ctx.controllers.get("cert-manager") or []]
        return (cms[0] if cms else cert), [cert]
    if f.node in ("certificate", "certificate-request", "order", "challenge", "secret"):
        return cert or gw, [gw] if cert is not None else []
    if f.node in ("route", "backend"):
        return route or gw, []
    return gw or route, []


def _describe(obj: Obj | None) -> str | None:
    if obj is None:
        return None
    origin = as_dict(as_dict(obj.get("metadata")).get("annotations")).get(gitops.RENDERED_FROM)
    if origin:
        return str(origin)
    ns = ns_of(obj)
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{name_of(obj)}"


def diagnose_host(w: World, host: str) -> HostResult:
    ev = Evidence(host=host, now=w.now, source={"kind": "manifests"}, cluster=w.cluster)
    ctx = diagnose_context(ev, w.idx.view(host), w.controllers)
    rules.apply(ctx)
    found = rank(dedupe(ctx.findings))
    out: list[LintFinding] = []
    from edgedoctor import catalog

    for f in found:
        if f.severity not in SEVERITY_VERDICT:
            continue
        try:
            category = catalog.entry(f.code).get("category")
        except catalog.UnknownCode:
            category = None
        subject, related = _subject(w, ctx, f)
        rel = [(_describe(o), w.locate(o)) for o in related if o is not None and o is not subject]
        out.append(LintFinding(f.code, f.severity, category, f.message, f.node, _describe(subject),
                               w.locate(subject), [(d, loc) for d, loc in rel if d]))
    verdict = "ok"
    for f in out:
        if VERDICT_RANK[f.severity] > VERDICT_RANK[verdict]:
            verdict = f.severity
    root = next((f for f in out if f.severity == verdict), None) if verdict != "ok" else None
    by_summary: dict[str, list[str]] = {}
    if any(n.status in ("unknown", "error") for n in ctx.nodes.values()):
        for name, n in sorted(ctx.nodes.items(), key=lambda kv: _NODE_INDEX.get(kv[0], 99)):
            if n.status in ("unknown", "error"):
                by_summary.setdefault(n.summary, []).append(name)
    unknown = [f"{', '.join(nodes)}: {summary}" for summary, nodes in by_summary.items()]
    return HostResult(host, verdict, root.category if root else None, root.code if root else None, out,
                      not_judged=unknown)


def lint_world(w: World, hosts: list[str]) -> list[HostResult]:
    return [diagnose_host(w, h) for h in hosts]


def mistyped_error(w: World) -> None:
    """A field of the wrong type is refused by the API server at apply time; from manifests
    it is bad input, named with its file and line (the engine would only say `unknown`)."""
    from edgedoctor.diagnosis.fieldtypes import SCHEMAS
    from edgedoctor.lint.load import ManifestError

    for kind in SCHEMAS:
        for obj, bad in w.idx.mistyped(kind):
            loc = w.locate(obj)
            if loc is not None:
                raise ManifestError(f"{loc}: {_describe(obj)}: {bad[0]}")


def lint_manifests(m: Manifests) -> list[HostResult]:
    w = prepare(m)
    mistyped_error(w)
    return lint_world(w, hosts_of(w.objects))


def exit_status(results: list[HostResult]) -> int:
    return max((VERDICT_RANK[r.verdict] for r in results), default=0)


__all__ = ["HostResult", "LintFinding", "World", "lint_manifests", "exit_status"]
