"""Steps of proxy-protocol-both-sides: what Envoy expects and what the load balancer sends, and
the change on either side.
"""

from __future__ import annotations

from typing import Any

from edgedoctor.diagnosis.gateway import lb_services
from edgedoctor.diagnosis.index import (
    Obj,
    annotations_of,
    as_dict,
    as_list,
    name_of,
    ns_of,
    spec,
)
from edgedoctor.remedy import changes as C
from edgedoctor.remedy import gitops
from edgedoctor.remedy.context import Expansion, PlanContext, kref, obj_ref
from edgedoctor.remedy.errors import NotApplicable
from edgedoctor.remedy.playbooks.common import (
    CREATED_BY,
    ENVOY_GROUP,
    GATEWAY_GROUP,
    PP_ANNOTATIONS,
    dns_name,
    merge_patch,
    read_of,
    the_gateway,
)


def _pp(pc: PlanContext) -> dict[str, Any]:
    if "pp" in pc.memo:
        return pc.memo["pp"]
    from edgedoctor.diagnosis.proxyproto import (
        envoy_expects_proxy,
        envoyproxies,
        proxy_protocol_facts,
    )

    gw = the_gateway(pc)
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
    for prefix, hit in PP_ANNOTATIONS.items():
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
    return [Expansion(target=obj_ref(the_gateway(pc)), reads=reads)]


def pp_envoy(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    want = str(params.get("want") or "on") == "on"
    pp = _pp(pc)
    gw = the_gateway(pc)
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
            return [merge_patch(ctp, body, option=option, recommended=rec,
                              explain=f"ClientTrafficPolicy {name_of(ctp)} already targets the Gateway (Envoy Gateway "
                                      "applies one policy per target): PROXY protocol is enabled in it.")]
        name = dns_name(f"{name_of(gw)}-proxy-protocol")
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
    gw = the_gateway(pc)
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
        listing = "; ".join(f"{p}: {a}={v!r}" for p, a, v in PP_ANNOTATIONS.values())
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
        return [merge_patch(ep, body, option=option, recommended=rec,
                          explain=f"Envoy Gateway copies the annotation to the load-balancer Service; the {provider} load "
                                  "balancer then prepends a PROXY header to every connection.")]
    name = dns_name(f"{name_of(gw)}-proxy")
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
