"""Route and backend nodes: which HTTPRoute serves the host, and can it reach the app?"""

from __future__ import annotations

from typing import Any

from edgedoctor.diagnosis import commands as cmd
from edgedoctor.diagnosis.context import Ctx, Listener
from edgedoctor.diagnosis.index import (
    ClusterIndex,
    Obj,
    as_dict,
    as_list,
    name_of,
    ns_of,
    spec,
)
from edgedoctor.diagnosis.routes import (
    Attachment,
    attach,
    backend_refs,
    candidate_routes,
    cond,
    precedence_key,
    rule_paths,
)

# Envoy Gateway v1.2.0 - v1.8.1 reject routes with NoReadyListeners when every
# selected listener is not ready (e.g. its TLS Secret is missing): a cert problem.
NO_READY_LISTENERS = "NoReadyListeners"


def _rref(r: Obj) -> str:
    return f"{r.get('kind', 'HTTPRoute')} {ns_of(r)}/{name_of(r)}"


def _effective(att: Attachment, listener_cert_broken: bool) -> bool:
    """Does this route carry traffic for the host on the listener?"""
    if att.parent_ref is None:
        return False
    if att.accepted is True:
        return True
    if att.accepted is None:
        # No status for this parent: trust the spec's rules (controller may be slow).
        return att.computed_reason is None
    # Envoy Gateway <= v1.8.1: the route is fine, the listener it needs is not ready.
    return att.reason == NO_READY_LISTENERS


def diagnose_route(ctx: Ctx) -> None:
    """The HTTPRoute that carries the host on the chosen listener, and its backend."""
    ls = ctx.listener
    if ls is None:
        reason = "no listener accepts the host" if ctx.nodes.get("listener") else "Gateways not read"
        ctx.set_node("route", "skip", reason)
        ctx.set_node("backend", "skip", reason)
        return
    if not ctx.idx.all("HTTPRoute") and not ctx.idx.was_read("HTTPRoute"):
        err = ctx.idx.read_error("HTTPRoute")
        why = err.get("reason") if err else "no HTTPRoute objects in the evidence"
        ctx.set_node("route", "unknown", f"HTTPRoutes could not be read: {why}")
        ctx.set_node("backend", "skip", "route unknown")
        return
    host = ctx.host
    atts = [a for a in (attach(ctx.idx, r, ls, host) for r in candidate_routes(ctx.idx, host)) if a]
    effective = sorted((a for a in atts if _effective(a, ctx.listener_cert_broken)), key=precedence_key)
    broken = [a for a in atts if not _effective(a, ctx.listener_cert_broken)]
    if not atts:
        _route_missing(ctx, ls)
        return
    winner = effective[0] if effective else None
    specific_broken = [
        a for a in broken if winner is None or precedence_key(a) < precedence_key(winner)
    ]
    if winner is not None and specific_broken and winner.hostname != host:
        _shadowed_by_wildcard(ctx, ls, winner, specific_broken[0])
    elif winner is None:
        _not_accepted(ctx, ls, sorted(broken, key=precedence_key)[0])
    else:
        _route_serves(ctx, ls, winner, effective[1:])


def _route_missing(ctx: Ctx, ls: Listener) -> None:
    gref = f"{ns_of(ls.gateway)}/{name_of(ls.gateway)}"
    msg = f"no HTTPRoute names {ctx.host} (directly or through a wildcard) on Gateway {gref}"
    ctx.add(
        "route-missing",
        msg,
        evidence={"gateway": gref, "listener": ls.name},
        commands=["kubectl get httproutes -A -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,HOSTS:.spec.hostnames,PARENTS:.spec.parentRefs[*].name"],
    )
    ctx.set_node("route", "fail", msg)
    ctx.set_node("backend", "skip", "no route")


def _shadowed_by_wildcard(ctx: Ctx, ls: Listener, winner: Attachment, sb: Attachment) -> None:
    """A more specific route exists but does not carry traffic while a wildcard one does."""
    host = ctx.host
    why = _why_not(sb, ls)
    ctx.add(
        "route-shadowed-by-wildcard",
        f"{host} is served by {_rref(winner.route)} ({winner.hostname or 'no hostname'}) because "
        f"the specific {_rref(sb.route)} is not attached: {why}; users get the catch-all answer instead of the app",
        evidence={
            "served_by": _att_ev(winner),
            "specific_route": _att_ev(sb),
        },
        commands=[
            cmd.describe("httproute", ns_of(sb.route), name_of(sb.route)),
            f"curl -sk -o /dev/null -w '%{{http_code}}\\n' https://{host}/",
        ],
    )
    _route_not_accepted_secondary(ctx, sb, ls)
    ctx.route = winner.route
    ctx.route_accepted = True
    ctx.set_node("route", "fail", f"{host} lands on {_rref(winner.route)} instead of {_rref(sb.route)}",
                 served_by=_att_ev(winner), specific_route=_att_ev(sb))
    diagnose_backend(ctx, winner.route)


def _not_accepted(ctx: Ctx, ls: Listener, sb: Attachment) -> None:
    """Routes name the host but none is attached to the listener: the most specific one says why."""
    gw = ls.gateway
    ctx.route = sb.route
    why = _why_not(sb, ls)
    ctx.add(
        "route-not-accepted",
        f"{_rref(sb.route)} names {ctx.host} but is not attached to {ns_of(gw)}/{name_of(gw)} listener {ls.name}: {why}",
        evidence=_att_ev(sb),
        commands=[
            cmd.describe("httproute", ns_of(sb.route), name_of(sb.route)),
            f"kubectl -n {ns_of(gw)} get gateway {name_of(gw)} -o jsonpath='{{.spec.listeners}}'",
        ],
    )
    ctx.set_node("route", "fail", f"{_rref(sb.route)} not accepted: {why}", **_att_ev(sb))
    ctx.set_node("backend", "skip", "route not accepted")


def _route_serves(ctx: Ctx, ls: Listener, winner: Attachment, others: list[Attachment]) -> None:
    ctx.route = winner.route
    ctx.route_accepted = True
    ctx.route_parent_status = winner.status_entry
    if winner.reason == NO_READY_LISTENERS:
        lnode = ctx.nodes.get("listener")
        why = (
            f"{_rref(winner.route)} reports Accepted=False NoReadyListeners: the listener {ls.name} "
            "is not ready (Envoy Gateway v1.8.1 and older say so on the route)"
        )
        ctx.listener_cert_broken = True
        if lnode is not None and lnode.status == "pass":
            ctx.set_node("listener", "fail", why, **lnode.details)
        ctx.notes.append(why)
    _conflicts(ctx, winner, others)
    ctx.set_node("route", "pass", f"{_rref(winner.route)} serves {ctx.host} on listener {ls.name}", **_att_ev(winner))
    diagnose_backend(ctx, winner.route, winner)


def _route_not_accepted_secondary(ctx: Ctx, att: Attachment, ls: Listener) -> None:
    ctx.add(
        "route-not-accepted",
        f"{_rref(att.route)} is not attached to listener {ls.name}: {_why_not(att, ls)}",
        evidence=_att_ev(att),
        commands=[cmd.describe("httproute", ns_of(att.route), name_of(att.route))],
    )


def _why_not(att: Attachment, ls: Listener) -> str:
    if att.parent_ref is None:
        refs = [
            f"{p.get('namespace') or ns_of(att.route)}/{p.get('name')}"
            + (f" sectionName {p['sectionName']}" if p.get("sectionName") else "")
            + (f" port {p['port']}" if p.get("port") else "")
            for p in as_list(spec(att.route).get("parentRefs"))
            if isinstance(p, dict)
        ]
        if att.computed_reason == "NoParentRef":
            return f"its parentRefs ({', '.join(refs) or 'none'}) do not name this Gateway"
        return (
            f"its parentRefs ({', '.join(refs)}) select no listener named {ls.name} "
            "(NoMatchingParent)"
        )
    if att.accepted is False:
        return f"Accepted=False reason {att.reason}: {att.message or ''}".rstrip(": ")
    if att.computed_reason:
        return f"{att.computed_reason} (no status from the controller; computed from the spec)"
    return "no status for this parent"


def _att_ev(att: Attachment) -> dict[str, Any]:
    return {
        "route": f"{ns_of(att.route)}/{name_of(att.route)}",
        "kind": att.route.get("kind"),
        "hostname": att.hostname or None,
        "parentRef": att.parent_ref,
        "accepted": att.accepted,
        "reason": att.reason,
        "message": att.message,
        "computed_reason": att.computed_reason,
    }


def _conflicts(ctx: Ctx, winner: Attachment, others: list[Attachment]) -> None:
    wpaths = rule_paths(winner.route)
    for o in others:
        if o.hostname != winner.hostname:
            continue
        shared = wpaths & rule_paths(o.route)
        if not shared:
            continue
        paths = ", ".join(f"{t} {v}" for t, v in sorted(shared))
        ctx.add(
            "route-conflict",
            f"{_rref(winner.route)} and {_rref(o.route)} both claim {winner.hostname or ctx.host} {paths}; "
            f"{_rref(winner.route)} wins (older creationTimestamp, then namespace/name order), "
            f"so {_rref(o.route)} is dead for those paths",
            evidence={"winner": _att_ev(winner), "loser": _att_ev(o), "paths": sorted(shared)},
            commands=["kubectl get httproutes -A -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,CREATED:.metadata.creationTimestamp,HOSTS:.spec.hostnames"],
        )


def grant_allows(idx: ClusterIndex, from_kind: str, from_ns: str, to_kind: str, to_ns: str,
                  to_name: str, to_group: str = "") -> bool | None:
    if not idx.all("ReferenceGrant") and not idx.was_read("ReferenceGrant"):
        return None
    for g in idx.in_namespace("ReferenceGrant", to_ns):
        s = spec(g)
        froms = [f for f in as_list(s.get("from")) if isinstance(f, dict)]
        tos = [t for t in as_list(s.get("to")) if isinstance(t, dict)]
        from_ok = any(
            f.get("kind") == from_kind
            and f.get("namespace") == from_ns
            and (f.get("group") or "") == "gateway.networking.k8s.io"
            for f in froms
        )
        to_ok = any(
            t.get("kind") == to_kind
            and (t.get("group") or "") == to_group
            and (not t.get("name") or t.get("name") == to_name)
            for t in tos
        )
        if from_ok and to_ok:
            return True
    return False


def diagnose_backend(ctx: Ctx, route: Obj, att: Attachment | None = None) -> None:
    idx = ctx.idx
    rns = ns_of(route)
    entry = att.status_entry if att else None
    resolved = cond(entry, "ResolvedRefs")
    problems: list[str] = []
    ev: dict[str, Any] = {"route": f"{rns}/{name_of(route)}", "backends": []}
    playbook_grant = False
    if resolved is not None and resolved.get("status") != "True":
        problems.append(f"ResolvedRefs=False reason {resolved.get('reason')}: {resolved.get('message', '')}")
        if resolved.get("reason") == "RefNotPermitted":
            playbook_grant = True
    for b in backend_refs(route):
        kind = b.get("kind") or "Service"
        group = b.get("group") or ""
        bns = b.get("namespace") or rns
        bname = str(b.get("name") or "")
        port = b.get("port")
        bev: dict[str, Any] = {"backend": f"{kind} {bns}/{bname}", "port": port}
        ev["backends"].append(bev)
        if kind != "Service" or group not in ("", "core"):
            continue
        if bns != rns:
            allowed = grant_allows(idx, route.get("kind", "HTTPRoute"), rns, "Service", bns, bname)
            bev["reference_grant"] = allowed
            if allowed is False and not playbook_grant:
                problems.append(f"backendRef to Service {bns}/{bname} crosses namespaces with no ReferenceGrant in {bns}")
                playbook_grant = True
        if not idx.was_read("Service"):
            continue
        svc = idx.get("Service", bns, bname)
        if svc is None:
            problems.append(f"Service {bns}/{bname} does not exist")
            continue
        ports = [p for p in as_list(spec(svc).get("ports")) if isinstance(p, dict)]
        if isinstance(port, int) and ports and not any(p.get("port") == port for p in ports):
            problems.append(f"Service {bns}/{bname} has no port {port} (ports: {', '.join(str(p.get('port')) for p in ports)})")
            continue
        ready = _ready_endpoints(ctx, bns, bname)
        bev["ready_endpoints"] = ready
        if ready == 0:
            problems.append(f"Service {bns}/{bname} has no ready endpoints (selector matches no ready Pod)")
    if problems:
        msg = f"{_rref(route)} cannot reach its backend: " + "; ".join(problems)
        ctx.add(
            "route-backend-unresolved",
            msg,
            evidence=ev,
            commands=[
                cmd.describe("httproute", rns, name_of(route)),
                f"kubectl -n {rns} get svc,endpointslices",
            ],
        )
        ctx.set_node("backend", "fail", "; ".join(problems), **ev)
    else:
        ctx.set_node("backend", "pass", f"backends of {_rref(route)} resolve", **ev)


def _ready_endpoints(ctx: Ctx, ns: str, svc: str) -> int | None:
    if not ctx.idx.was_read("EndpointSlice"):
        return None
    total = 0
    seen = False
    for es in ctx.idx.in_namespace("EndpointSlice", ns):
        labs = as_dict(as_dict(es.get("metadata")).get("labels"))
        if labs.get("kubernetes.io/service-name") != svc:
            continue
        seen = True
        for ep in as_list(es.get("endpoints")):
            c = as_dict(as_dict(ep).get("conditions"))
            if c.get("ready", True) is not False:
                total += 1
    return total if seen else 0
