"""Steps of add-https-redirect: an http listener, the redirect route, and pinning the app route to
https.
"""

from __future__ import annotations

from typing import Any

from edgedoctor.diagnosis.gateway import listeners
from edgedoctor.diagnosis.index import (
    name_of,
    ns_of,
)
from edgedoctor.diagnosis.routes import (
    attach,
    candidate_routes,
    has_redirect_to_https,
    parent_refs,
    ref_targets_gateway,
)
from edgedoctor.remedy import changes as C
from edgedoctor.remedy import gitops
from edgedoctor.remedy.context import Expansion, PlanContext, kref, obj_ref
from edgedoctor.remedy.playbooks.common import (
    CREATED_BY,
    GATEWAY_GROUP,
    dns_name,
    read_of,
    the_gateway,
)

# ---------------------------------------------------------------- http -> https redirect


def read_http_routes(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    gw = the_gateway(pc)
    reads = [read_of(gw, ["spec.listeners[*].name", "spec.listeners[*].port"])]
    ls = pc.ctx.http_listener
    if ls is not None:
        for r in candidate_routes(pc.idx, pc.host):
            a = attach(pc.idx, r, ls, pc.host)
            if a and a.parent_ref is not None:
                reads.append(read_of(r, ["spec.parentRefs", "spec.rules[*].filters"]))
        for r in pc.idx.in_namespace("HTTPRoute", ns_of(gw)):
            if has_redirect_to_https(r) and read_of(r, ["spec.parentRefs", "spec.rules[*].filters"]) not in reads:
                reads.append(read_of(r, ["spec.parentRefs", "spec.rules[*].filters"]))
    return [Expansion(target=obj_ref(gw), reads=reads)]


def add_http_listener(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    gw = the_gateway(pc)
    if pc.ctx.http_listener is not None:
        pc.memo["http_listener"] = pc.ctx.http_listener.name
        return []
    ls = pc.ctx.listener
    names = {x.name for x in listeners(gw)}
    name = "http" if "http" not in names else next(f"http-{i}" for i in range(2, 99) if f"http-{i}" not in names)
    new = {"name": name, "protocol": "HTTP", "port": 80, "allowedRoutes": {"namespaces": {"from": "Same"}}}
    if ls is not None and ls.hostname:
        new["hostname"] = ls.hostname
    ops = [{"op": "add", "path": "/spec/listeners/-", "value": new}]
    change = C.patch(gw, ops, patch_type="json",
                     expect=[{"path": ["spec", "listeners", {"name": name}, "protocol"], "equals": "HTTP"}],
                     fields=[f"spec.listeners[name={name}] (new HTTP listener on port 80)"])
    pc.memo["http_listener"] = name
    msg, snip = gitops.note(gw, snippet=gitops.fragment(gw, {"spec": {"listeners": [new]}}))
    return [Expansion(target=obj_ref(gw), change=change, command=C.patch_command(change), gitops=msg, git_snippet=snip,
                      explain=f"Gateway {name_of(gw)} has no HTTP listener for {pc.host}: http:// connections are "
                              "refused. The new listener only takes routes of the Gateway's namespace.")]


def create_redirect_route(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    gw = the_gateway(pc)
    ls_name = pc.memo.get("http_listener") or (pc.ctx.http_listener.name if pc.ctx.http_listener else "http")
    gns = ns_of(gw)
    existing = [r for r in pc.idx.in_namespace("HTTPRoute", gns) if has_redirect_to_https(r)
                and any(ref_targets_gateway(r, p, gw) and p.get("sectionName") in (None, ls_name) for p in parent_refs(r))]
    name = "https-redirect"
    taken = pc.idx.get("HTTPRoute", gns, name)
    if taken is not None and not has_redirect_to_https(taken):
        name = dns_name(f"{name_of(gw)}-https-redirect")
    body = {
        "metadata": {"name": name, "namespace": gns, "annotations": {CREATED_BY: "add-https-redirect"}},
        "spec": {
            "parentRefs": [{"name": name_of(gw), "sectionName": ls_name}],
            "rules": [{"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}],
        },
    }
    api = f"{GATEWAY_GROUP}/v1"
    change = C.create("HTTPRoute", gns, body)
    msg, snip = gitops.note(gw, snippet=gitops.to_yaml({"apiVersion": api, "kind": "HTTPRoute", **body}), created=True)
    x = Expansion(target=kref("HTTPRoute", gns, name), change=change, command=C.create_command("HTTPRoute", body, api),
                  gitops=msg, git_snippet=snip,
                  explain=f"Attached to listener {ls_name} only (sectionName), with no hostnames: every http:// "
                          "request the listener takes gets a 301 to the same URL with https.")
    if existing:
        x.satisfied = f"HTTPRoute {gns}/{name_of(existing[0])} already redirects listener {ls_name} to https"
    return [x]


def pin_route_to_https(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    """A route without sectionName also attaches to the http listener and outranks the redirect."""
    gw = the_gateway(pc)
    f = pc.finding("redirect-missing")
    ev = f.evidence if f else {}
    ls_http = pc.ctx.http_listener
    https = pc.ctx.listener
    out = []
    # A loop: https:// itself answers with a redirect to https (the probe's evidence or its flag).
    loop = bool(ev.get("loop")) or (str(ev.get("url") or "").startswith("https://")
                                     and str(ev.get("location") or "").startswith("https://"))
    if loop and pc.ctx.route is not None and ls_http is not None and has_redirect_to_https(pc.ctx.route):
        route, section = pc.ctx.route, ls_http.name  # the redirect route answers https too
    elif ev.get("routes") and https is not None and ls_http is not None:
        rns, _, rname = str(ev["routes"][0]).partition("/")
        route = pc.idx.get("HTTPRoute", rns, rname) or pc.idx.get("GRPCRoute", rns, rname)
        section = https.name
        if route is None or has_redirect_to_https(route):
            return []
    elif pc.ctx.route is not None and https is not None and ls_http is not None and not has_redirect_to_https(pc.ctx.route):
        # The probe saw http:// served, not redirected (its evidence names no route): the host's
        # own route, when it attaches to every listener, is the one taking those requests.
        route, section = pc.ctx.route, https.name
    else:
        return []
    for i, p in enumerate(parent_refs(route)):
        if ref_targets_gateway(route, p, gw) and not p.get("sectionName"):
            ops = [{"op": "test", "path": f"/spec/parentRefs/{i}/name", "value": p.get("name")},
                   {"op": "add", "path": f"/spec/parentRefs/{i}/sectionName", "value": section}]
            change = C.patch(route, ops, patch_type="json",
                             expect=[{"path": ["spec", "parentRefs", i, "sectionName"], "equals": section}],
                             fields=[f"spec.parentRefs[{i}].sectionName = {section}"])
            new_ref = {**p, "sectionName": section}
            msg, snip = gitops.note(route, snippet=gitops.fragment(route, {"spec": {"parentRefs": [new_ref]}}))
            out.append(Expansion(target=obj_ref(route), change=change, command=C.patch_command(change),
                                 gitops=msg, git_snippet=snip,
                                 explain=f"{route.get('kind')} {ns_of(route)}/{name_of(route)} attaches to every listener of "
                                         f"Gateway {name_of(gw)}; pinned to listener {section}, it stops "
                                         + ("answering https with the redirect." if loop else
                                            "taking http:// requests, and the redirect route answers them.")))
    return out
