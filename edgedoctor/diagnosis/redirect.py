"""http -> https redirect, predicted from the routes when nothing was probed."""

from __future__ import annotations

from edgedoctor.diagnosis.context import Ctx
from edgedoctor.diagnosis.index import name_of, ns_of
from edgedoctor.diagnosis.routes import (
    attach,
    candidate_routes,
    has_redirect_to_https,
    precedence_key,
)


def diagnose_redirect_objects(ctx: Ctx) -> None:
    gw = ctx.gateway
    if gw is None or ctx.listener is None:
        ctx.set_node("http-redirect", "skip", "no Gateway serves the host")
        return
    gref = f"{ns_of(gw)}/{name_of(gw)}"
    # A redirect route that also attached to the https listener answers https with a redirect.
    if ctx.route is not None and ctx.route_accepted and has_redirect_to_https(ctx.route):
        msg = (
            f"HTTPRoute {ns_of(ctx.route)}/{name_of(ctx.route)} redirects to https and is the route "
            f"for {ctx.host} on the https listener too: https answers a redirect to itself (a loop)"
        )
        ctx.add("redirect-missing", msg, severity="critical", evidence={"route": f"{ns_of(ctx.route)}/{name_of(ctx.route)}", "loop": True}, commands=[f"curl -skI https://{ctx.host}/"])
        ctx.set_node("http-redirect", "fail", msg)
        return
    ls = ctx.http_listener
    if ls is None:
        msg = f"Gateway {gref} has no HTTP listener for {ctx.host}: http://{ctx.host}/ is refused instead of redirected"
        ctx.add("redirect-missing", msg, evidence={"gateway": gref}, commands=[f"curl -sI http://{ctx.host}/"])
        ctx.set_node("http-redirect", "warn", msg + " (predicted from the objects)")
        return
    atts = [a for a in (attach(ctx.idx, r, ls, ctx.host) for r in candidate_routes(ctx.idx, ctx.host)) if a]
    live = sorted(
        (a for a in atts if a.parent_ref is not None and a.accepted is not False and (a.accepted or a.computed_reason is None)),
        key=precedence_key,
    )
    if live and has_redirect_to_https(live[0].route):
        r = live[0].route
        ctx.set_node("http-redirect", "pass",
                     f"HTTPRoute {ns_of(r)}/{name_of(r)} on listener {ls.name} redirects to https (predicted from the objects)")
        return
    if live:
        r = live[0].route
        msg = (
            f"on listener {ls.name}, {r.get('kind')} {ns_of(r)}/{name_of(r)} takes http://{ctx.host}/ "
            "and does not redirect to https"
        )
        if any(has_redirect_to_https(a.route) for a in live[1:]):
            msg += " (it outranks the redirect route by hostname; give the app route sectionName https)"
    else:
        msg = f"no route on listener {ls.name} redirects http://{ctx.host}/ to https (the Gateway answers 404)"
    ctx.add("redirect-missing", msg, evidence={"listener": ls.name, "gateway": gref, "routes": [f"{ns_of(a.route)}/{name_of(a.route)}" for a in live]}, commands=[f"curl -sI http://{ctx.host}/"])
    ctx.set_node("http-redirect", "warn", msg + " (predicted from the objects)")
