"""HTTPRoute attachment, selection and status, as the Gateway API specifies them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edgedoctor.diagnosis.context import Listener
from edgedoctor.diagnosis.hostnames import gw_intersects, gw_matches, route_rank
from edgedoctor.diagnosis.index import (
    ClusterIndex,
    Obj,
    as_dict,
    as_list,
    condition,
    labels,
    meta,
    name_of,
    ns_of,
    spec,
    status,
)

ROUTE_KINDS = ("HTTPRoute", "GRPCRoute")


def route_hostnames(route: Obj) -> list[str]:
    return [str(h).lower() for h in as_list(spec(route).get("hostnames")) if h]


def matching_hostname(route: Obj, host: str, names: list[str] | None = None) -> str | None:
    """The route hostname that accepts `host` (most specific), "" for a route without
    hostnames, None when the route does not name the host at all. `names`: the route's
    hostnames, when the caller has them."""
    if names is None:
        names = route_hostnames(route)
    if not names:
        return ""
    matches = [h for h in names if gw_matches(h, host)]
    if not matches:
        return None
    return max(matches, key=route_rank)


def parent_refs(route: Obj) -> list[dict[str, Any]]:
    return [p for p in as_list(spec(route).get("parentRefs")) if isinstance(p, dict)]


def is_gateway_ref(p: dict[str, Any]) -> bool:
    kind = p.get("kind") or "Gateway"
    group = p.get("group")
    return kind == "Gateway" and group in (None, "", "gateway.networking.k8s.io")


def ref_targets_gateway(route: Obj, p: dict[str, Any], gw: Obj) -> bool:
    return (
        is_gateway_ref(p)
        and p.get("name") == name_of(gw)
        and (p.get("namespace") or ns_of(route)) == ns_of(gw)
    )


def ref_selects_listener(p: dict[str, Any], listener: Listener) -> bool:
    section = p.get("sectionName")
    if section and section != listener.name:
        return False
    port = p.get("port")
    return not (isinstance(port, int) and listener.port is not None and port != listener.port)


def namespace_allowed(idx: ClusterIndex, route: Obj, listener: Listener) -> bool | None:
    """allowedRoutes.namespaces; None when a Selector cannot be judged (namespace not read)."""
    allowed = as_dict(as_dict(listener.spec.get("allowedRoutes")).get("namespaces"))
    frm = allowed.get("from") or "Same"
    rns, gns = ns_of(route), ns_of(listener.gateway)
    if frm == "All":
        return True
    if frm == "Same":
        return rns == gns
    if frm == "Selector":
        ns_obj = idx.get("Namespace", "", rns)
        if ns_obj is None:
            return None
        sel = as_dict(allowed.get("selector"))
        return selector_matches(sel, labels(ns_obj))
    return False


def selector_matches(sel: dict[str, Any], labs: dict[str, str]) -> bool:
    for k, v in as_dict(sel.get("matchLabels")).items():
        if labs.get(str(k)) != str(v):
            return False
    for expr in as_list(sel.get("matchExpressions")):
        if not isinstance(expr, dict):
            continue
        key, op = str(expr.get("key")), expr.get("operator")
        vals = [str(v) for v in as_list(expr.get("values"))]
        if op == "In" and labs.get(key) not in vals:
            return False
        if op == "NotIn" and labs.get(key) in vals:
            return False
        if op == "Exists" and key not in labs:
            return False
        if op == "DoesNotExist" and key in labs:
            return False
    return True


def kind_allowed(route: Obj, listener: Listener) -> bool:
    kinds = as_list(as_dict(listener.spec.get("allowedRoutes")).get("kinds"))
    if not kinds:
        if listener.protocol in ("HTTP", "HTTPS"):
            return route.get("kind") in ("HTTPRoute", "GRPCRoute")
        return listener.protocol == "TLS" and route.get("kind") == "TLSRoute"
    return any(isinstance(k, dict) and k.get("kind") == route.get("kind") for k in kinds)


def parent_status(route: Obj, gw: Obj, p: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The route's status.parents entry for this Gateway (and sectionName, if given)."""
    best = None
    for entry in as_list(status(route).get("parents")):
        if not isinstance(entry, dict):
            continue
        pref = as_dict(entry.get("parentRef"))
        if pref.get("name") != name_of(gw):
            continue
        if (pref.get("namespace") or ns_of(route)) != ns_of(gw):
            continue
        if p is not None and (pref.get("sectionName") or None) != (p.get("sectionName") or None):
            best = best or entry
            continue
        return entry
    return best


def cond(entry: dict[str, Any] | None, type_: str) -> dict[str, Any] | None:
    return condition(as_dict(entry).get("conditions"), type_) if entry else None


@dataclass
class Attachment:
    route: Obj
    parent_ref: dict[str, Any] | None  # the parentRef that selects the listener, if any
    hostname: str  # the route hostname that accepts the host ("" = none set)
    status_entry: dict[str, Any] | None
    accepted: bool | None  # None: no status for this parent
    reason: str | None
    message: str | None
    computed_reason: str | None  # what the spec says when the controller wrote nothing


def attach(idx: ClusterIndex, route: Obj, listener: Listener, host: str) -> Attachment | None:
    """How `route` relates to `listener` for `host`; None when it does not name the host."""
    hostname = matching_hostname(route, host, idx.derived("hostnames", route, route_hostnames))
    if hostname is None:
        return None
    fit = _fit(idx, route, listener)
    if hostname == "" and fit.selecting is None:
        return None  # a route without hostnames elsewhere says nothing about this host
    if not fit.targets:
        return Attachment(route, None, hostname, None, None, None, None, "NoParentRef")
    computed = fit.computed
    if computed is None and hostname and listener.hostname and not gw_intersects(hostname, listener.hostname):
        computed = "NoMatchingListenerHostname"
    return Attachment(route, fit.selecting, hostname, fit.entry, fit.accepted, fit.reason, fit.message, computed)


@dataclass(frozen=True)
class _Fit:
    """How a route's parentRefs meet one listener, whatever the host."""

    targets: bool  # a parentRef names the listener's Gateway
    selecting: dict[str, Any] | None  # the first one that selects the listener
    entry: dict[str, Any] | None
    accepted: bool | None
    reason: str | None
    message: str | None
    computed: str | None  # NoMatchingParent / NotAllowedByListeners; hostnames aside


def _fit(idx: ClusterIndex, route: Obj, listener: Listener) -> _Fit:
    # Per route, per listener: lint's index keeps both (routes of many hosts meet the
    # same listeners); elsewhere `derived` gives a fresh table and this computes.
    fits: dict[int, tuple[Listener, _Fit]] = idx.derived("listener_fits", route, lambda _: {})
    hit = fits.get(id(listener))
    if hit is None or hit[0] is not listener:
        hit = fits[id(listener)] = (listener, _compute_fit(idx, route, listener))
    return hit[1]


def _compute_fit(idx: ClusterIndex, route: Obj, listener: Listener) -> _Fit:
    gw = listener.gateway
    refs = [p for p in idx.derived("parent_refs", route, parent_refs) if ref_targets_gateway(route, p, gw)]
    selecting = [p for p in refs if ref_selects_listener(p, listener)]
    if not refs:
        return _Fit(False, None, None, None, None, None, "NoParentRef")
    p = selecting[0] if selecting else refs[0]
    entry = parent_status(route, gw, p)
    acc = cond(entry, "Accepted")
    accepted: bool | None = None
    reason = message = None
    if acc is not None:
        accepted = acc.get("status") == "True"
        reason, message = acc.get("reason"), acc.get("message")
    computed = None
    if not selecting:
        computed = "NoMatchingParent"
    elif namespace_allowed(idx, route, listener) is False or not kind_allowed(route, listener):
        computed = "NotAllowedByListeners"
    return _Fit(True, p if selecting else None, entry, accepted, reason, message, computed)


def candidate_routes(idx: ClusterIndex, host: str) -> list[Obj]:
    out = []
    for kind in ROUTE_KINDS:
        for r in idx.all(kind):
            if matching_hostname(r, host, idx.derived("hostnames", r, route_hostnames)) is not None:
                out.append(r)
    return out


def precedence_key(att: Attachment) -> tuple[Any, ...]:
    """Sort key, best first: hostname specificity, then oldest, then namespace/name."""
    rank = route_rank(att.hostname)
    created = str(meta(att.route).get("creationTimestamp") or "9999")
    return (-rank[0], -rank[1], created, f"{ns_of(att.route)}/{name_of(att.route)}")


def rule_paths(route: Obj) -> set[tuple[str, str]]:
    """(match type, value) of every rule's path match; a rule without matches is PathPrefix /."""
    out: set[tuple[str, str]] = set()
    rules = as_list(spec(route).get("rules")) or [{}]
    for rule in rules:
        matches = as_list(as_dict(rule).get("matches")) or [{}]
        for m in matches:
            path = as_dict(as_dict(m).get("path"))
            extra = bool(as_dict(m).get("headers") or as_dict(m).get("queryParams") or as_dict(m).get("method"))
            if extra:
                continue
            out.add((str(path.get("type") or "PathPrefix"), str(path.get("value") or "/")))
    return out


def has_redirect_to_https(route: Obj) -> bool:
    for rule in as_list(spec(route).get("rules")):
        for f in as_list(as_dict(rule).get("filters")):
            f = as_dict(f)
            if f.get("type") == "RequestRedirect" and as_dict(f.get("requestRedirect")).get("scheme") == "https":
                return True
    return False


def backend_refs(route: Obj) -> list[dict[str, Any]]:
    out = []
    for rule in as_list(spec(route).get("rules")):
        for b in as_list(as_dict(rule).get("backendRefs")):
            if isinstance(b, dict):
                out.append(b)
    return out
