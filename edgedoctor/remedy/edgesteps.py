"""Named reads and changes of the Gateway, DNS and data-plane playbooks:
ReferenceGrants, the http->https redirect, PROXY protocol on both sides,
external-dns and k8s_gateway sources, and restarting Envoy."""

from __future__ import annotations

import re
from typing import Any

from edgedoctor.diagnosis.gateway import lb_services, listeners
from edgedoctor.diagnosis.index import (
    Obj,
    annotations_of,
    as_dict,
    as_list,
    labels,
    name_of,
    ns_of,
    spec,
)
from edgedoctor.diagnosis.routes import (
    attach,
    backend_refs,
    candidate_routes,
    has_redirect_to_https,
    parent_refs,
    ref_targets_gateway,
)
from edgedoctor.diagnosis.routing import grant_allows
from edgedoctor.remedy import changes as C
from edgedoctor.remedy import gitops
from edgedoctor.remedy.context import Expansion, PlanContext, kref, obj_ref
from edgedoctor.remedy.errors import NotApplicable

GATEWAY_GROUP = "gateway.networking.k8s.io"
ENVOY_GROUP = "gateway.envoyproxy.io"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
CREATED_BY = "edgedoctor.io/playbook"


def _gateway(pc: PlanContext) -> Obj:
    if pc.ctx.gateway is None:
        raise NotApplicable(f"no Gateway serves {pc.host}")
    return pc.ctx.gateway


def _read(obj: Obj | None, kind: str, namespace: str | None, name: str | None, fields: list[str]) -> dict[str, Any]:
    return {"kind": kind, "namespace": namespace, "name": name, "fields": fields,
            "uid": (obj or {}).get("metadata", {}).get("uid") if obj else None}


def read_of(obj: Obj, fields: list[str]) -> dict[str, Any]:
    return _read(obj, str(obj.get("kind")), ns_of(obj) or None, name_of(obj), fields)


def _dns_name(text: str) -> str:
    out = re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip("-.")
    return out[:253].rstrip("-.")


# ---------------------------------------------------------------- ReferenceGrant


def _grants_needed(pc: PlanContext) -> list[dict[str, Any]]:
    """Cross-namespace references of the host's chain, and whether a grant allows each."""
    ctx = pc.ctx
    out = []
    gw = ctx.gateway
    if gw is not None and ctx.secret_ref is not None and ctx.secret_ref[0] != ns_of(gw):
        sns, sname = ctx.secret_ref
        out.append({"from_kind": "Gateway", "from_ns": ns_of(gw), "to_kind": "Secret", "to_group": "",
                    "to_ns": sns, "to_name": sname, "anchor": gw,
                    "allowed": grant_allows(pc.idx, "Gateway", ns_of(gw), "Secret", sns, sname)})
    route = ctx.route
    if route is not None:
        rns = ns_of(route)
        for b in backend_refs(route):
            kind = b.get("kind") or "Service"
            bns = str(b.get("namespace") or rns)
            if kind != "Service" or (b.get("group") or "") not in ("", "core") or bns == rns:
                continue
            bname = str(b.get("name") or "")
            rkind = str(route.get("kind") or "HTTPRoute")
            item = {"from_kind": rkind, "from_ns": rns, "to_kind": "Service", "to_group": "",
                    "to_ns": bns, "to_name": bname, "anchor": route,
                    "allowed": grant_allows(pc.idx, rkind, rns, "Service", bns, bname)}
            if item not in out:
                out.append(item)
    return out


def read_reference_grants(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    needed = _grants_needed(pc)
    nss = sorted({n["to_ns"] for n in needed})
    reads = [_read(g, "ReferenceGrant", ns_of(g), name_of(g), ["spec.from", "spec.to"])
             for ns in nss for g in pc.idx.in_namespace("ReferenceGrant", ns)]
    if not reads:
        reads = [_read(None, "ReferenceGrant", ns, None, ["spec.from", "spec.to"]) for ns in nss]
    return [Expansion(target=", ".join(f"ReferenceGrants in {ns}" for ns in nss) or None, reads=reads)]


def create_reference_grant(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    needed = _grants_needed(pc)
    if not needed:
        pc.notes.append(f"no reference of {pc.host}'s Gateway listener or route crosses namespaces: "
                        "a ReferenceGrant changes nothing here")
        return []
    out = []
    for n in needed:
        name = _dns_name(f"{n['from_kind']}-{n['from_ns']}-to-{n['to_kind']}-{n['to_name']}")
        body = {
            "metadata": {"name": name, "namespace": n["to_ns"], "annotations": {CREATED_BY: "create-reference-grant"}},
            "spec": {
                "from": [{"group": GATEWAY_GROUP, "kind": n["from_kind"], "namespace": n["from_ns"]}],
                "to": [{"group": n["to_group"], "kind": n["to_kind"], "name": n["to_name"]}],
            },
        }
        change = C.create("ReferenceGrant", n["to_ns"], body)
        api = f"{GATEWAY_GROUP}/v1beta1"
        msg, snip = gitops.note(n["anchor"], snippet=gitops.to_yaml({"apiVersion": api, "kind": "ReferenceGrant", **body}),
                                created=True)
        x = Expansion(
            target=kref("ReferenceGrant", n["to_ns"], name), change=change,
            command=C.create_command("ReferenceGrant", body, api), gitops=msg, git_snippet=snip,
            label=f"{n['to_kind']} {n['to_ns']}/{n['to_name']}",
            explain=f"Allows {n['from_kind']} objects in namespace {n['from_ns']} to refer to {n['to_kind']} "
                    f"{n['to_name']} in {n['to_ns']} (only that one, by name).",
        )
        if n["allowed"]:
            x.satisfied = f"a ReferenceGrant in {n['to_ns']} already allows {n['from_kind']} {n['from_ns']} -> {n['to_kind']} {n['to_name']}"
        elif n["allowed"] is None:
            x.explain += " (ReferenceGrants were not read: the server dry run shows whether one exists.)"
        out.append(x)
    return out


# ---------------------------------------------------------------- http -> https redirect


def read_http_routes(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    gw = _gateway(pc)
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
    gw = _gateway(pc)
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
    gw = _gateway(pc)
    ls_name = pc.memo.get("http_listener") or (pc.ctx.http_listener.name if pc.ctx.http_listener else "http")
    gns = ns_of(gw)
    existing = [r for r in pc.idx.in_namespace("HTTPRoute", gns) if has_redirect_to_https(r)
                and any(ref_targets_gateway(r, p, gw) and p.get("sectionName") in (None, ls_name) for p in parent_refs(r))]
    name = "https-redirect"
    taken = pc.idx.get("HTTPRoute", gns, name)
    if taken is not None and not has_redirect_to_https(taken):
        name = _dns_name(f"{name_of(gw)}-https-redirect")
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
    gw = _gateway(pc)
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


# ---------------------------------------------------------------- PROXY protocol, both sides


_PP_ANNOTATIONS: dict[str, tuple[str, str, str]] = {
    # provider annotation prefix -> (provider, annotation that makes the LB send PROXY, value)
    "service.beta.kubernetes.io/aws-load-balancer-": ("AWS", "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol", "*"),
    "service.beta.kubernetes.io/do-loadbalancer-": ("DigitalOcean", "service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol", "true"),
    "load-balancer.hetzner.cloud/": ("Hetzner", "load-balancer.hetzner.cloud/uses-proxyprotocol", "true"),
    "service.beta.kubernetes.io/scw-loadbalancer-": ("Scaleway", "service.beta.kubernetes.io/scw-loadbalancer-proxy-protocol-v2", "true"),
    "service.beta.kubernetes.io/linode-loadbalancer-": ("Linode", "service.beta.kubernetes.io/linode-loadbalancer-proxy-protocol", "v2"),
    "service.beta.kubernetes.io/ovh-loadbalancer-": ("OVHcloud", "service.beta.kubernetes.io/ovh-loadbalancer-proxy-protocol", "v2"),
}


def _pp(pc: PlanContext) -> dict[str, Any]:
    if "pp" in pc.memo:
        return pc.memo["pp"]
    from edgedoctor.diagnosis.proxyproto import (
        envoy_expects_proxy,
        envoyproxies,
        proxy_protocol_facts,
    )

    gw = _gateway(pc)
    facts = proxy_protocol_facts(pc.ctx)
    if facts.get("envoy_expects") is None or facts.get("lb_sends") is None:
        raise NotApplicable("PROXY protocol cannot be judged: ClientTrafficPolicies or the load-balancer Service were not read")
    _expects, ctp = envoy_expects_proxy(pc.ctx, gw, pc.ctx.listener.name if pc.ctx.listener else None)
    targeting = [c for c in pc.idx.in_namespace("ClientTrafficPolicy", ns_of(gw))
                 if any(as_dict(r).get("kind") == "Gateway" and as_dict(r).get("name") == name_of(gw)
                        for r in as_list(spec(c).get("targetRefs")) + ([spec(c).get("targetRef")] if spec(c).get("targetRef") else []))]
    eps = envoyproxies(pc.ctx, gw)
    svcs = lb_services(pc.ctx, gw)
    out = {"facts": facts, "ctp": ctp, "targeting": targeting, "envoyproxies": eps, "services": svcs,
           "gateway_ep": next((e for e in eps if as_dict(as_dict(spec(gw).get("infrastructure")).get("parametersRef")).get("name") == name_of(e)), None)}
    pc.memo["pp"] = out
    return out


def _recommend_on(pp: dict[str, Any]) -> bool:
    # Recommend the option that edits Envoy's policy, not the cloud load balancer
    # (an LB change may re-create cloud resources and takes longer to roll back).
    f = pp["facts"]
    return bool(f["lb_sends"]) and not f["envoy_expects"]


def _provider(pp: dict[str, Any]) -> tuple[str, str, str] | None:
    anns: dict[str, str] = {}
    for s in pp["services"]:
        anns.update(annotations_of(s))
    for ep in pp["envoyproxies"]:
        anns.update({str(k): str(v) for k, v in _ep_annotations(ep).items()})
    for prefix, hit in _PP_ANNOTATIONS.items():
        if any(k.startswith(prefix) for k in anns):
            return hit
    return None


def _ep_annotations(ep: Obj) -> dict[str, Any]:
    return as_dict(as_dict(as_dict(as_dict(spec(ep).get("provider")).get("kubernetes")).get("envoyService")).get("annotations"))


def read_proxy_protocol(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    pp = _pp(pc)
    reads = [read_of(c, ["spec.enableProxyProtocol", "spec.proxyProtocol", "spec.targetRefs"]) for c in pp["targeting"]]
    reads += [read_of(s, ["metadata.annotations"]) for s in pp["services"]]
    reads += [read_of(e, ["spec.provider.kubernetes.envoyService.annotations"]) for e in pp["envoyproxies"]]
    f = pp["facts"]
    pc.notes.append(f"Envoy {'expects' if f['envoy_expects'] else 'does not expect'} a PROXY header; the load balancer "
                    f"{'sends' if f['lb_sends'] else 'does not send'} one: turn it on on both sides, or off on both")
    return [Expansion(target=obj_ref(_gateway(pc)), reads=reads)]


def pp_envoy(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    want = str(params.get("want") or "on") == "on"
    pp = _pp(pc)
    gw = _gateway(pc)
    rec = _recommend_on(pp) == want
    option = "on" if want else "off"
    if bool(pp["facts"]["envoy_expects"]) == want:
        x = Expansion(target=obj_ref(pp["ctp"]) if pp["ctp"] else f"ClientTrafficPolicies of Gateway {ns_of(gw)}/{name_of(gw)}",
                      satisfied=f"Envoy already {'expects' if want else 'does not expect'} PROXY protocol",
                      option=option, recommended=rec)
        return [x]
    if want:
        if pp["targeting"]:
            ctp = pp["targeting"][0]
            body = {"spec": {"enableProxyProtocol": True}}
            change = C.patch(ctp, body)
            msg, snip = gitops.note(ctp, snippet=gitops.fragment(ctp, body))
            return [Expansion(target=obj_ref(ctp), change=change, command=C.patch_command(change), gitops=msg, git_snippet=snip,
                              option=option, recommended=rec,
                              explain=f"ClientTrafficPolicy {name_of(ctp)} already targets the Gateway (Envoy Gateway "
                                      "applies one policy per target): PROXY protocol is enabled in it.")]
        name = _dns_name(f"{name_of(gw)}-proxy-protocol")
        body = {"metadata": {"name": name, "namespace": ns_of(gw), "annotations": {CREATED_BY: "proxy-protocol-both-sides"}},
                "spec": {"targetRefs": [{"group": GATEWAY_GROUP, "kind": "Gateway", "name": name_of(gw)}],
                         "enableProxyProtocol": True}}
        api = f"{ENVOY_GROUP}/v1alpha1"
        change = C.create("ClientTrafficPolicy", ns_of(gw), body)
        msg, snip = gitops.note(gw, snippet=gitops.to_yaml({"apiVersion": api, "kind": "ClientTrafficPolicy", **body}), created=True)
        return [Expansion(target=kref("ClientTrafficPolicy", ns_of(gw), name), change=change,
                          command=C.create_command("ClientTrafficPolicy", body, api), gitops=msg, git_snippet=snip,
                          option=option, recommended=rec,
                          explain="Envoy then requires a PROXY header on every connection to the Gateway.")]
    ctp = pp["ctp"]
    s = spec(ctp)
    body: dict[str, Any] = {"spec": {}}
    if s.get("enableProxyProtocol") is not None:
        body["spec"]["enableProxyProtocol"] = None
    if s.get("proxyProtocol") is not None:
        body["spec"]["proxyProtocol"] = None
    change = C.patch(ctp, body)
    msg, snip = gitops.note(ctp, snippet=gitops.fragment(ctp, {"spec": {k: "(remove this field)" for k in body["spec"]}}))
    return [Expansion(target=obj_ref(ctp), change=change, command=C.patch_command(change), gitops=msg, git_snippet=snip,
                      option=option, recommended=rec,
                      explain=f"ClientTrafficPolicy {name_of(ctp)} stops requiring the PROXY header; client addresses "
                              "then come from the load balancer's connection (or X-Forwarded-For).")]


def pp_lb(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    want = str(params.get("want") or "on") == "on"
    pp = _pp(pc)
    gw = _gateway(pc)
    rec = _recommend_on(pp) == want
    option = "on" if want else "off"
    if bool(pp["facts"]["lb_sends"]) == want:
        target = pp["envoyproxies"][0] if pp["envoyproxies"] else (pp["services"][0] if pp["services"] else gw)
        return [Expansion(target=obj_ref(target), satisfied=f"the load balancer already {'sends' if want else 'does not send'} PROXY headers",
                          option=option, recommended=rec)]
    if not want:
        from edgedoctor.diagnosis.proxyproto import lb_sends_proxy

        out = []
        for ep in pp["envoyproxies"]:
            hit, keys = lb_sends_proxy({str(k): str(v) for k, v in _ep_annotations(ep).items()})
            if not hit:
                continue
            body = {"spec": {"provider": {"kubernetes": {"envoyService": {"annotations": {k: None for k in keys}}}}}}
            change = C.patch(ep, body)
            msg, snip = gitops.note(ep, snippet=gitops.fragment(ep, {"spec": {"provider": {"kubernetes": {"envoyService": {"annotations": {k: "(remove)" for k in keys}}}}}}))
            out.append(Expansion(target=obj_ref(ep), change=change, command=C.patch_command(change), gitops=msg, git_snippet=snip,
                                 option=option, recommended=rec,
                                 explain=f"EnvoyProxy {name_of(ep)} makes Envoy Gateway put {', '.join(keys)} on the load-balancer "
                                         "Service; without it the load balancer stops sending PROXY headers."))
        for svc in pp["services"]:
            hit, keys = lb_sends_proxy(annotations_of(svc))
            covered = any(k in _ep_annotations(ep) for ep in pp["envoyproxies"] for k in keys)
            if not hit or covered:
                continue
            body = {"metadata": {"annotations": {k: None for k in keys}}}
            change = C.patch(svc, body)
            out.append(Expansion(target=obj_ref(svc), change=change, command=C.patch_command(change),
                                 option=option, recommended=rec,
                                 explain=f"The annotation is set on Service {name_of(svc)} directly; Envoy Gateway manages the "
                                         "Service, so also keep it out of the EnvoyProxy's envoyService.annotations."))
        return out
    prov = _provider(pp)
    if prov is None:
        listing = "; ".join(f"{p}: {a}={v!r}" for p, a, v in _PP_ANNOTATIONS.values())
        target = pp["envoyproxies"][0] if pp["envoyproxies"] else gw
        return [Expansion(target=obj_ref(target), option=option, recommended=rec,
                          blocked="the cloud provider is not known from the load-balancer Service's annotations: set your "
                                  "provider's PROXY protocol annotation in the EnvoyProxy's envoyService.annotations",
                          explain=f"Known annotations: {listing}.")]
    provider, key, value = prov
    ann = {key: value}
    ep = pp["gateway_ep"] or (pp["envoyproxies"][0] if pp["envoyproxies"] else None)
    if ep is not None:
        body: dict[str, Any] = {"spec": {"provider": {"kubernetes": {"envoyService": {"annotations": ann}}}}}
        if not as_dict(spec(ep).get("provider")).get("type"):
            body["spec"]["provider"]["type"] = "Kubernetes"
        change = C.patch(ep, body)
        msg, snip = gitops.note(ep, snippet=gitops.fragment(ep, body))
        return [Expansion(target=obj_ref(ep), change=change, command=C.patch_command(change), gitops=msg, git_snippet=snip,
                          option=option, recommended=rec,
                          explain=f"Envoy Gateway copies the annotation to the load-balancer Service; the {provider} load "
                                  "balancer then prepends a PROXY header to every connection.")]
    name = _dns_name(f"{name_of(gw)}-proxy")
    body = {"metadata": {"name": name, "namespace": ns_of(gw), "annotations": {CREATED_BY: "proxy-protocol-both-sides"}},
            "spec": {"provider": {"type": "Kubernetes", "kubernetes": {"envoyService": {"annotations": ann}}}}}
    api = f"{ENVOY_GROUP}/v1alpha1"
    create = C.create("EnvoyProxy", ns_of(gw), body)
    msg1, snip1 = gitops.note(gw, snippet=gitops.to_yaml({"apiVersion": api, "kind": "EnvoyProxy", **body}), created=True)
    gbody = {"spec": {"infrastructure": {"parametersRef": {"group": ENVOY_GROUP, "kind": "EnvoyProxy", "name": name}}}}
    gpatch = C.patch(gw, gbody)
    msg2, snip2 = gitops.note(gw, snippet=gitops.fragment(gw, gbody))
    return [
        Expansion(target=kref("EnvoyProxy", ns_of(gw), name), change=create, command=C.create_command("EnvoyProxy", body, api),
                  gitops=msg1, git_snippet=snip1, option=option, recommended=rec, label="EnvoyProxy",
                  explain=f"No EnvoyProxy configures this Gateway's Envoy yet: a new one carries the {provider} annotation."),
        Expansion(target=obj_ref(gw), change=gpatch, command=C.patch_command(gpatch), gitops=msg2, git_snippet=snip2,
                  option=option, recommended=rec, label="Gateway parametersRef",
                  explain="The Gateway names the EnvoyProxy in spec.infrastructure.parametersRef; Envoy Gateway re-renders "
                          "its Service with the annotation."),
    ]


# ---------------------------------------------------------------- external-dns


def read_external_dns(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    eds = pc.ctx.controllers.get("external-dns") or []
    if eds:
        pc.values.update(external_dns_namespace=eds[0].namespace, external_dns=eds[0].name)
    return [Expansion(target=", ".join(obj_ref(c.deployment) for c in eds) or None,
                      reads=[read_of(c.deployment, ["spec.template.spec.containers[*].args (--source, filters)"]) for c in eds])]


def external_dns_add_source(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    from edgedoctor.diagnosis.dnssync import publish_verdict, split_values

    ctx = pc.ctx
    if ctx.route is None or ctx.gateway is None:
        raise NotApplicable(f"no route serves {pc.host}: external-dns has nothing to publish")
    eds = ctx.controllers.get("external-dns") or []
    if not eds:
        raise NotApplicable("external-dns is not deployed")
    want = "gateway-" + str(ctx.route.get("kind") or "HTTPRoute").lower()
    out = []
    for c in eds:
        v = publish_verdict(ctx, c, ctx.route, ctx.gateway)
        others = [b for b in v.blockers if not b.startswith("--source ")]
        sources = split_values(c.flag_values("--source"))
        flag = f"--source={want}"
        containers = as_list(as_dict(as_dict(spec(c.deployment).get("template")).get("spec")).get("containers"))
        i = next((i for i, x in enumerate(containers) if as_dict(x).get("image") == c.image), 0)
        cont = as_dict(containers[i]) if containers else {}
        field = "args" if "args" in cont or "command" not in cont else "command"
        cname = str(cont.get("name") or "external-dns")
        path = ["spec", "template", "spec", "containers", {"name": cname}, field]
        # A JSON patch that appends one item: the container's other args (which the
        # evidence holds redacted) are never written back.
        ops: list[dict[str, Any]] = [{"op": "test", "path": f"/spec/template/spec/containers/{i}/name", "value": cname}]
        if field in cont:
            ops.append({"op": "add", "path": f"/spec/template/spec/containers/{i}/{field}/-", "value": flag})
        else:
            ops.append({"op": "add", "path": f"/spec/template/spec/containers/{i}/{field}", "value": [flag]})
        change = C.patch(c.deployment, ops, patch_type="json", expect=[{"path": path, "contains": flag}],
                         fields=[f"spec.template.spec.containers[name={cname}].{field} += {flag}"])
        msg, snip = gitops.note(c.deployment, snippet=None, helm_values={"sources": sources if want in sources else [*sources, want]})
        x = Expansion(target=obj_ref(c.deployment), change=change, command=C.patch_command(change), gitops=msg, git_snippet=snip,
                      explain=f"external-dns {c.namespace}/{c.name} watches {', '.join(sources) or 'no sources'}. Its "
                              "ClusterRole must allow get/list/watch on gateways, httproutes and namespaces "
                              "(the Helm chart adds them when the source is in `sources`).")
        if want in sources:
            if others:
                raise NotApplicable(f"external-dns {c.namespace}/{c.name} already watches {want}; it does not publish "
                                    f"{pc.host} because " + "; ".join(others))
            x.satisfied = f"external-dns {c.namespace}/{c.name} already has {flag}"
        if others:
            pc.notes.append(f"external-dns {c.namespace}/{c.name} will still not publish {pc.host}: " + "; ".join(others))
        out.append(x)
    return out


# ---------------------------------------------------------------- k8s_gateway


_BLOCK = re.compile(r"(k8s_gateway\s+([^{\n]*)\{)([^}]*)(\})", re.S)


def _k8s_gateway(pc: PlanContext) -> list[tuple[Any, Obj, str]]:
    out = []
    for kg in pc.ctx.controllers.get("k8s-gateway") or []:
        for cm in pc.idx.in_namespace("ConfigMap", kg.namespace):
            text = as_dict(cm.get("data")).get("Corefile")
            if isinstance(text, str) and "k8s_gateway" in text:
                out.append((kg, cm, text))
                break
    if out:
        pc.values.update(k8s_gateway_namespace=out[0][0].namespace, k8s_gateway=out[0][0].name)
    return out


def read_k8s_gateway(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    found = _k8s_gateway(pc)
    return [Expansion(target=", ".join(obj_ref(cm) for _, cm, _ in found) or None,
                      reads=[read_of(cm, ["data.Corefile (k8s_gateway block: resources)"]) for _, cm, _ in found])]


def new_corefile(text: str, host: str, kind: str) -> str | None:
    from edgedoctor.diagnosis.dnssync import DEFAULT_RESOURCES_FORK, domain_matches

    def fix(m: re.Match[str]) -> str:
        zones = [z.strip().rstrip(".").lower() for z in m.group(2).split() if z.strip()]
        if not any(domain_matches(host, z) for z in zones):
            return m.group(0)
        body = m.group(3)
        lines = body.split("\n")
        for j, line in enumerate(lines):
            parts = line.split()
            if parts and parts[0] == "resources":
                if kind in parts[1:]:
                    return m.group(0)
                lines[j] = line.rstrip() + f" {kind}"
                return m.group(1) + "\n".join(lines) + m.group(4)
        indent = next((ln[: len(ln) - len(ln.lstrip())] for ln in lines if ln.strip()), "    ")
        add = f"\n{indent}resources {' '.join([*DEFAULT_RESOURCES_FORK, kind])}"
        return m.group(1) + add + body + m.group(4)

    out = _BLOCK.sub(fix, text)
    return None if out == text else out


def k8s_gateway_add_resource(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    found = _k8s_gateway(pc)
    if not found:
        raise NotApplicable("no k8s_gateway with a Corefile ConfigMap was found")
    if pc.ctx.route is None:
        raise NotApplicable(f"no route serves {pc.host}")
    kind = str(pc.ctx.route.get("kind") or "HTTPRoute")
    out = []
    for kg, cm, text in found:
        new = new_corefile(text, pc.host, kind)
        x = Expansion(target=obj_ref(cm), values={"k8s_gateway_namespace": kg.namespace, "k8s_gateway": kg.name})
        if new is None:
            x.satisfied = f"the k8s_gateway block for {pc.host} in ConfigMap {name_of(cm)} already watches {kind}"
        else:
            ops = [{"op": "test", "path": "/data/Corefile", "value": text},
                   {"op": "replace", "path": "/data/Corefile", "value": new}]
            x.change = C.patch(cm, ops, patch_type="json", expect=[{"path": ["data", "Corefile"], "equals": new}],
                               fields=[f"data.Corefile: k8s_gateway resources += {kind}"])
            x.command = (f"kubectl -n {ns_of(cm)} edit configmap {name_of(cm)}   # in the k8s_gateway block: "
                         + next((ln.strip() for ln in new.splitlines() if ln.strip().startswith("resources")), f"resources ... {kind}"))
            msg, snip = gitops.note(cm, snippet=gitops.fragment(cm, {"data": {"Corefile": new}}),
                                    helm_values={"watchedResources": _resources_after(new, pc.host)})
            x.gitops, x.git_snippet = msg, snip
            x.explain = (f"k8s_gateway {kg.namespace}/{kg.name} then answers for {kind} hostnames; its ClusterRole must "
                         f"allow list/watch on {kind.lower()}s and gateways (the chart adds them for watchedResources).")
        pc.memo.setdefault("k8s_gateway_changed", []).append((kg, cm, new or text))
        out.append(x)
    return out


def _resources_after(text: str, host: str) -> list[str]:
    from edgedoctor.diagnosis.dnssync import domain_matches, parse_corefile

    for b in parse_corefile(text):
        if any(domain_matches(host, z) for z in b["zones"]):
            return list(b["resources"] or [])
    return []


def restart_k8s_gateway(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    out = []
    for kg, _cm, text in pc.memo.get("k8s_gateway_changed", []):
        if re.search(r"^\s*reload\b", text, re.M):
            pc.notes.append(f"the Corefile of k8s_gateway {kg.namespace}/{kg.name} has the reload plugin: it picks up "
                            "the change within a minute or two (ConfigMap volume sync, then reload)")
            continue
        out.append(_restart(pc, kg.deployment))
    return out


# ---------------------------------------------------------------- restart the data plane


def _restart(pc: PlanContext, dep: Obj) -> Expansion:
    body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: pc.ev.now}}}}}
    # A restart since the Secret got its certificate is the one this step asks for: another
    # would load the same Secret again (then Envoy Gateway's logs, not a restart, tell why).
    f = pc.finding("cert-stale-served")
    since = f.evidence.get("secret_not_before") if f is not None else None
    expect = ([{"path": ["spec", "template", "metadata", "annotations", RESTARTED_AT], "not_before": since}]
              if since else [])
    change = C.patch(dep, body, expect=expect)
    return Expansion(target=obj_ref(dep), change=change, label=name_of(dep),
                     command=f"kubectl -n {ns_of(dep)} rollout restart deployment/{name_of(dep)}",
                     explain=f"Deployment {ns_of(dep)}/{name_of(dep)} rolls its Pods one by one (as `kubectl rollout "
                             "restart`): the new Pods load the current configuration and Secrets.")


def envoy_deployments(pc: PlanContext) -> list[Obj]:
    gw = _gateway(pc)
    return [d for d in pc.idx.all("Deployment")
            if labels(d).get("gateway.envoyproxy.io/owning-gateway-name") == name_of(gw)
            and labels(d).get("gateway.envoyproxy.io/owning-gateway-namespace") == ns_of(gw)]


def read_data_plane(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    deps = envoy_deployments(pc)
    reads = [read_of(d, [f"spec.template.metadata.annotations[\"{RESTARTED_AT}\"]", "status.readyReplicas"]) for d in deps]
    f = pc.finding("cert-stale-served")
    if f is not None:
        pc.notes.append(f"Envoy serves serial {f.evidence.get('serial')} while the Secret holds serial "
                        f"{f.evidence.get('secret_serial')}: Envoy Gateway normally pushes a renewed Secret within "
                        "seconds; check its logs if the restart does not help")
    return [Expansion(target=", ".join(obj_ref(d) for d in deps) or None, reads=reads)]


def restart_envoy(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    gw = _gateway(pc)
    deps = envoy_deployments(pc)
    if not deps:
        return [Expansion(
            target=f"Envoy Deployment of Gateway {ns_of(gw)}/{name_of(gw)}",
            change=None,
            blocked=("no Deployment labelled gateway.envoyproxy.io/owning-gateway-name="
                     f"{name_of(gw)} was read (Envoy may run as a DaemonSet): restart it by hand"),
            command=("kubectl get deploy,ds -A -l gateway.envoyproxy.io/owning-gateway-name="
                     f"{name_of(gw)},gateway.envoyproxy.io/owning-gateway-namespace={ns_of(gw)}"),
        )]
    return [_restart(pc, d) for d in deps]
