"""PROXY protocol on both sides of the load balancer, from the objects.

Envoy side: a ClientTrafficPolicy (enableProxyProtocol, or proxyProtocol since
Envoy Gateway v1.5) targeting the Gateway. Load-balancer side: the Service
annotation that makes the cloud LB prepend the header, set on the Service
itself or through EnvoyProxy's envoyService.annotations.
"""

from __future__ import annotations

from typing import Any

from edgedoctor.diagnosis import commands as cmd
from edgedoctor.diagnosis.context import Ctx
from edgedoctor.diagnosis.gateway import lb_services
from edgedoctor.diagnosis.index import (
    Obj,
    annotations_of,
    as_dict,
    as_list,
    condition,
    name_of,
    ns_of,
    spec,
    status,
)

_LB_ANNOTATIONS: dict[str, Any] = {
    "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol": lambda v: v.strip() == "*",
    "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes": lambda v: "proxy_protocol_v2.enabled=true" in v.replace(" ", ""),
    "service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol": lambda v: v.lower() == "true",
    "load-balancer.hetzner.cloud/uses-proxyprotocol": lambda v: v.lower() == "true",
    "service.beta.kubernetes.io/scw-loadbalancer-proxy-protocol-v2": lambda v: v.lower() in ("true", "*"),
    "service.beta.kubernetes.io/linode-loadbalancer-proxy-protocol": lambda v: v.lower() in ("v1", "v2"),
    "service.beta.kubernetes.io/ovh-loadbalancer-proxy-protocol": lambda v: v.lower() in ("v1", "v2", "v2_ssl"),
}


def lb_sends_proxy(ann: dict[str, str]) -> tuple[bool, list[str]]:
    hits = [k for k, test in _LB_ANNOTATIONS.items() if k in ann and test(ann[k])]
    return bool(hits), hits


def envoyproxies(ctx: Ctx, gw: Obj) -> list[Obj]:
    out = []
    infra = as_dict(as_dict(spec(gw).get("infrastructure")).get("parametersRef"))
    if infra.get("kind") == "EnvoyProxy" and infra.get("name"):
        ep = ctx.idx.get("EnvoyProxy", ns_of(gw), str(infra["name"]))
        if ep:
            out.append(ep)
    gc = ctx.gatewayclass
    if gc is not None:
        pref = as_dict(spec(gc).get("parametersRef"))
        if pref.get("kind") == "EnvoyProxy" and pref.get("name"):
            ep = ctx.idx.get("EnvoyProxy", str(pref.get("namespace") or ""), str(pref["name"]))
            if ep:
                out.append(ep)
    return out


def envoy_expects_proxy(ctx: Ctx, gw: Obj, listener_name: str | None) -> tuple[bool | None, Obj | None]:
    """(expects, the policy); None when ClientTrafficPolicies were not read."""
    if not ctx.idx.was_read("ClientTrafficPolicy") and not ctx.idx.all("ClientTrafficPolicy"):
        return None, None
    for ctp in ctx.idx.in_namespace("ClientTrafficPolicy", ns_of(gw)):
        s = spec(ctp)
        refs = [as_dict(r) for r in as_list(s.get("targetRefs"))]
        if s.get("targetRef"):
            refs.append(as_dict(s.get("targetRef")))
        targets = any(
            r.get("kind") == "Gateway"
            and r.get("name") == name_of(gw)
            and (not r.get("sectionName") or r.get("sectionName") == listener_name)
            for r in refs
        )
        if not targets:
            continue
        acc = None
        for anc in as_list(status(ctp).get("ancestors")):
            acc = condition(as_dict(anc).get("conditions"), "Accepted") or acc
        if acc is not None and acc.get("status") == "False":
            continue
        pp = s.get("proxyProtocol")
        if isinstance(pp, dict):
            if pp.get("optional") is True:
                return False, ctp  # accepts both: no mismatch possible
            return True, ctp
        if s.get("enableProxyProtocol") is True:
            return True, ctp
    return False, None


def proxy_protocol_facts(ctx: Ctx) -> dict[str, Any]:
    gw = ctx.gateway
    if gw is None:
        return {"envoy_expects": None, "lb_sends": None}
    expects, ctp = envoy_expects_proxy(ctx, gw, ctx.listener.name if ctx.listener else None)
    sends = False
    where: list[str] = []
    svcs = lb_services(ctx, gw)
    for s in svcs:
        hit, keys = lb_sends_proxy(annotations_of(s))
        if hit:
            sends = True
            where += [f"Service {ns_of(s)}/{name_of(s)} {k}" for k in keys]
    for ep in envoyproxies(ctx, gw):
        ann = {
            str(k): str(v)
            for k, v in as_dict(
                as_dict(as_dict(as_dict(spec(ep).get("provider")).get("kubernetes")).get("envoyService")).get("annotations")
            ).items()
        }
        hit, keys = lb_sends_proxy(ann)
        if hit:
            sends = True
            where += [f"EnvoyProxy {ns_of(ep)}/{name_of(ep)} envoyService.annotations {k}" for k in keys]
    lb_known = bool(svcs) or bool(envoyproxies(ctx, gw))
    return {
        "envoy_expects": expects,
        "lb_sends": sends if lb_known else None,
        "policy": f"{ns_of(ctp)}/{name_of(ctp)}" if ctp else None,
        "lb_annotations": where,
    }


def diagnose_proxy_protocol(ctx: Ctx) -> dict[str, Any]:
    facts = proxy_protocol_facts(ctx)
    expects, sends = facts["envoy_expects"], facts["lb_sends"]
    if expects is None or sends is None or expects == sends:
        return facts
    gw = ctx.gateway
    assert gw is not None
    if expects:
        msg = (
            f"ClientTrafficPolicy {facts['policy']} makes Envoy require a PROXY header, but the load "
            "balancer does not send one: every connection is closed before the TLS handshake"
        )
    else:
        msg = (
            "the load balancer sends a PROXY header (" + "; ".join(facts["lb_annotations"]) + ") but no "
            "ClientTrafficPolicy enables PROXY protocol on Envoy: the handshake sees 'PROXY TCP4 ...' instead of a ClientHello"
        )
    ctx.add(
        "proxy-protocol-mismatch",
        msg,
        evidence=facts,
        commands=[
            f"kubectl -n {ns_of(gw)} get clienttrafficpolicies -o yaml",
            f"kubectl get svc -A -l gateway.envoyproxy.io/owning-gateway-name={name_of(gw)} -o jsonpath='{{.items[*].metadata.annotations}}'",
            cmd.describe("gateway", ns_of(gw), name_of(gw)),
        ],
    )
    return facts
