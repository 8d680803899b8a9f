"""GatewayClass, Gateway, listener and load balancer: does the edge accept the host?"""

from __future__ import annotations

from typing import Any

from edgedoctor.diagnosis import commands as cmd
from edgedoctor.diagnosis.context import Ctx, Listener
from edgedoctor.diagnosis.controllers import deployment_available
from edgedoctor.diagnosis.hostnames import gw_matches, listener_rank
from edgedoctor.diagnosis.index import (
    ClusterIndex,
    Obj,
    annotations_of,
    as_dict,
    as_list,
    condition,
    labels,
    name_of,
    ns_of,
    spec,
    status,
)
from edgedoctor.diagnosis.routes import attach, candidate_routes

TLS_PROTOCOLS = ("HTTPS", "TLS")
ENVOY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"


def listeners(gw: Obj) -> list[Listener]:
    statuses = {
        str(s.get("name")): s for s in as_list(status(gw).get("listeners")) if isinstance(s, dict)
    }
    out = []
    for ls in as_list(spec(gw).get("listeners")):
        if isinstance(ls, dict):
            out.append(Listener(gw, ls, statuses.get(str(ls.get("name")))))
    return out


def gateway_listeners(idx: ClusterIndex, gw: Obj) -> list[Listener]:
    """`listeners(gw)` through the index (computed once when it serves many hosts)."""
    return idx.derived("listeners", gw, listeners)


def _best_listener(cands: list[Listener]) -> Listener:
    # Listener isolation: the most specific hostname on the port takes the host.
    return max(cands, key=lambda ls: listener_rank(ls.hostname))


def gateway_addresses(gw: Obj) -> list[str]:
    out = []
    for a in as_list(status(gw).get("addresses")):
        if isinstance(a, dict) and a.get("value"):
            out.append(str(a["value"]))
    return out


def _dns_addresses(ctx: Ctx) -> set[str]:
    dns = ctx.probed_dns or {}
    out: set[str] = set()
    for q in as_list(dns.get("queries")):
        if isinstance(q, dict) and q.get("purpose") == "address":
            for rr in as_list(q.get("answer")):
                if isinstance(rr, dict) and rr.get("type") in ("A", "AAAA"):
                    out.add(str(rr.get("value")))
    return out


def choose_listener(ctx: Ctx, host: str) -> tuple[Listener | None, list[Listener]]:
    """The HTTPS listener that serves the host, and every candidate considered.

    Several Gateways may accept a host (external and internal edges): prefer the
    one DNS points at, then the one with a route for the host, then specificity.
    """
    per_gateway: list[Listener] = []
    for gw in ctx.idx.all("Gateway"):
        cands = [
            ls
            for ls in gateway_listeners(ctx.idx, gw)
            if ls.protocol in TLS_PROTOCOLS and gw_matches(ls.hostname, host)
        ]
        if cands:
            per_gateway.append(_best_listener(cands))
    if not per_gateway:
        return None, []
    if len(per_gateway) == 1:
        return per_gateway[0], per_gateway  # nothing to choose between: no need to score
    resolved = _dns_addresses(ctx)
    routes = candidate_routes(ctx.idx, host)

    def score(ls: Listener) -> tuple[Any, ...]:
        atts = [a for a in (attach(ctx.idx, r, ls, host) for r in routes) if a is not None]
        attached = [a for a in atts if a.parent_ref is not None]
        exact = any(a.hostname == host for a in attached)
        dns_hit = bool(resolved & set(gateway_addresses(ls.gateway)))
        return (dns_hit, exact, bool(attached), bool(atts), listener_rank(ls.hostname),
                f"{ns_of(ls.gateway)}/{name_of(ls.gateway)}")

    best = max(per_gateway, key=score)
    return best, per_gateway


def choose_http_listener(idx: ClusterIndex, gw: Obj, host: str) -> Listener | None:
    cands = [ls for ls in gateway_listeners(idx, gw) if ls.protocol == "HTTP" and gw_matches(ls.hostname, host)]
    return _best_listener(cands) if cands else None


def diagnose_gatewayclass(ctx: Ctx, gw: Obj) -> bool:
    """False when the class is the broken link (reported)."""
    class_name = str(spec(gw).get("gatewayClassName") or "")
    gc = ctx.idx.get("GatewayClass", "", class_name)
    ctx.gatewayclass = gc
    eg = ctx.controllers.get("envoy-gateway") or []
    eg_ev = [
        {"deployment": f"{c.namespace}/{c.name}", "available": c.available, "image": c.image}
        for c in eg
    ]
    if gc is None:
        if not ctx.idx.was_read("GatewayClass"):
            return True
        ctx.add(
            "gatewayclass-not-accepted",
            f"GatewayClass {class_name!r} of Gateway {ns_of(gw)}/{name_of(gw)} does not exist",
            evidence={"gatewayClassName": class_name, "envoy_gateway": eg_ev},
            commands=["kubectl get gatewayclass", cmd.describe("gateway", ns_of(gw), name_of(gw))],
        )
        return False
    acc = condition(status(gc).get("conditions"), "Accepted")
    if acc is not None and acc.get("status") == "True":
        return True
    controller_name = str(spec(gc).get("controllerName") or "")
    reason = (acc or {}).get("reason") or "no status"
    msg = (acc or {}).get("message") or ""
    why = f"Accepted={(acc or {}).get('status', 'unset')} reason {reason}"
    if msg:
        why += f": {msg}"
    if reason in ("Pending", "Waiting", "no status") or not acc:
        if controller_name == ENVOY_CONTROLLER and ctx.idx.was_read("Deployment"):
            running = [c for c in eg if c.available]
            if not running:
                why += "; no Envoy Gateway controller Deployment is running"
            elif not eg:
                why += "; Envoy Gateway is not deployed"
        else:
            why += f"; no controller has claimed controllerName {controller_name}"
    ctx.add(
        "gatewayclass-not-accepted",
        f"GatewayClass {class_name} is not accepted ({why})",
        evidence={
            "gatewayclass": class_name,
            "controllerName": controller_name,
            "accepted": acc,
            "envoy_gateway": eg_ev,
        },
        commands=[
            f"kubectl get gatewayclass {class_name} -o yaml",
            "kubectl get deploy -A -l app.kubernetes.io/name=gateway-helm",
        ],
    )
    return False


def lb_services(ctx: Ctx, gw: Obj) -> list[Obj]:
    gname, gns = name_of(gw), ns_of(gw)
    out = []
    for svc in ctx.idx.all("Service"):
        lab = labels(svc)
        if (
            lab.get("gateway.envoyproxy.io/owning-gateway-name") == gname
            and lab.get("gateway.envoyproxy.io/owning-gateway-namespace") == gns
        ):
            out.append(svc)
        elif ns_of(svc) == gns and name_of(svc) == gname and spec(svc).get("type") == "LoadBalancer":
            out.append(svc)  # GatewayNamespace mode: named as the Gateway
    gclass = str(spec(gw).get("gatewayClassName") or "")
    if not out and gclass:
        out = [
            s
            for s in ctx.idx.all("Service")
            if labels(s).get("gateway.envoyproxy.io/owning-gatewayclass") == gclass
        ]
    return out


def _target_annotation(ctx: Ctx, gw: Obj) -> list[str]:
    """external-dns's target annotation, with the prefix the deployed version reads."""
    prefixes = []
    for c in ctx.controllers.get("external-dns") or []:
        explicit = c.flag("--annotation-prefix")
        if explicit:
            prefixes.append(explicit)
        elif c.version is not None and c.version >= (0, 22, 0):
            prefixes.append("external-dns.kubernetes.io/")
        else:
            prefixes.append("external-dns.alpha.kubernetes.io/")
    if not prefixes:
        prefixes = ["external-dns.alpha.kubernetes.io/", "external-dns.kubernetes.io/"]
    ann = annotations_of(gw)
    for p in prefixes:
        v = ann.get(p + "target")
        if v:
            return [t.strip() for t in v.split(",") if t.strip()]
    return []


def diagnose_gateway(ctx: Ctx) -> None:
    """The listener that takes the host, its Gateway and class, and the address users reach."""
    if _gateways_unread(ctx):
        return
    listener, considered = choose_listener(ctx, ctx.host)
    if listener is None:
        _no_listener(ctx)
        return
    gw = listener.gateway
    ctx.gateway = gw
    ctx.listener = listener
    ctx.http_listener = choose_http_listener(ctx.idx, gw, ctx.host)
    gref = f"{ns_of(gw)}/{name_of(gw)}"
    class_ok = diagnose_gatewayclass(ctx, gw)

    conds = status(gw).get("conditions")
    accepted = condition(conds, "Accepted")
    programmed = condition(conds, "Programmed")
    addresses = gateway_addresses(gw)
    targets = _target_annotation(ctx, gw)
    ctx.expected_addresses = targets or addresses
    ctx.expected_from = "target-annotation" if targets else ("gateway-status" if addresses else "none")
    svc_ev = [_service_evidence(s) for s in lb_services(ctx, gw)]
    _load_balancer_node(ctx, addresses, targets, svc_ev, programmed)

    if class_ok:
        problems = _gateway_problems(ctx, gw, addresses, svc_ev, accepted, programmed)
    else:
        problems = [f"GatewayClass {spec(gw).get('gatewayClassName')} not accepted"]
    ctx.set_node(
        "gateway",
        "fail" if problems else "pass",
        f"Gateway {gref}" + (f": {'; '.join(problems)}" if problems else " accepted and programmed"),
        gateway=gref,
        gatewayclass=spec(gw).get("gatewayClassName"),
        accepted=(accepted or {}).get("status"),
        programmed=(programmed or {}).get("status"),
        considered=[f"{ns_of(c.gateway)}/{name_of(c.gateway)}:{c.name}" for c in considered] or None,
    )
    _listener_node(ctx, listener, [a for s in svc_ev for a in s.get("ingress", [])])


def _gateways_unread(ctx: Ctx) -> bool:
    """No Gateway in the evidence because none could be read: the edge nodes are unknown."""
    idx = ctx.idx
    if idx.all("Gateway"):
        return False
    err = idx.read_error("Gateway")
    if err is None and idx.was_read("Gateway"):
        return False
    reason = err.get("reason") if err else "no Gateway objects in the evidence"
    for node in ("load-balancer", "gateway", "listener"):
        ctx.set_node(node, "unknown", f"Gateways could not be read: {reason}")
    return True


def _no_listener(ctx: Ctx) -> None:
    host = ctx.host
    gateways = ctx.idx.all("Gateway")
    http_only = [
        f"{ns_of(ls.gateway)}/{name_of(ls.gateway)}:{ls.name}"
        for gw in gateways
        for ls in listeners(gw)
        if ls.protocol == "HTTP" and gw_matches(ls.hostname, host)
    ]
    all_https = [
        f"{ns_of(ls.gateway)}/{name_of(ls.gateway)}:{ls.name} ({ls.hostname or '*'})"
        for gw in gateways
        for ls in listeners(gw)
        if ls.protocol in TLS_PROTOCOLS
    ]
    msg = f"no HTTPS listener of any Gateway accepts {host}"
    if http_only:
        msg += f" (only plain-HTTP listeners do: {', '.join(http_only)})"
    ctx.add(
        "listener-no-match",
        msg,
        evidence={"https_listeners": all_https, "http_listeners_for_host": http_only},
        commands=["kubectl get gateways -A -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,LISTENERS:.spec.listeners[*].hostname"],
    )
    ctx.set_node("load-balancer", "skip", "no Gateway serves the host")
    ctx.set_node("gateway", "skip", "no Gateway has a listener for the host")
    ctx.set_node("listener", "fail", msg, https_listeners=all_https)


def _load_balancer_node(ctx: Ctx, addresses: list[str], targets: list[str], svc_ev: list[dict[str, Any]],
                        programmed: dict[str, Any] | None) -> None:
    """The address users' traffic reaches."""
    if addresses:
        ctx.set_node(
            "load-balancer",
            "pass",
            f"Gateway address {', '.join(addresses)}",
            addresses=addresses,
            target_annotation=targets or None,
            services=svc_ev or None,
        )
        return
    summary = "the Gateway has no address"
    if svc_ev:
        s0 = svc_ev[0]
        summary += f"; Service {s0['service']} ({s0.get('type')}) has no load-balancer ingress"
    ctx.set_node("load-balancer", "fail", summary, services=svc_ev or None,
                 programmed_reason=(programmed or {}).get("reason"))


def _gateway_problems(ctx: Ctx, gw: Obj, addresses: list[str], svc_ev: list[dict[str, Any]],
                      accepted: dict[str, Any] | None, programmed: dict[str, Any] | None) -> list[str]:
    """What keeps a Gateway of an accepted class from serving (reported; the first found)."""
    if not addresses and (accepted is not None or programmed is not None):
        _no_address(ctx, gw, svc_ev, programmed)
        return ["no address"]
    text = _not_programmed(ctx, gw, accepted, programmed) or _data_plane_down(ctx, gw)
    return [text] if text else []


def _no_address(ctx: Ctx, gw: Obj, svc_ev: list[dict[str, Any]], programmed: dict[str, Any] | None) -> None:
    gref = f"{ns_of(gw)}/{name_of(gw)}"
    reason = (programmed or {}).get("reason")
    pending = [s for s in svc_ev if not s.get("ingress")]
    msg = f"Gateway {gref} has no address"
    if programmed is not None:
        msg += f" (Programmed={programmed.get('status')} {reason}: {programmed.get('message', '')})"
    if pending:
        p = pending[0]
        msg += f"; its {p.get('type')} Service {p['service']} has no external IP (<pending>)"
    ctx.add(
        "gateway-no-address",
        msg,
        evidence={"gateway": gref, "programmed": programmed, "services": svc_ev},
        commands=[
            cmd.describe("gateway", ns_of(gw), name_of(gw)),
            f"kubectl get svc -A -l gateway.envoyproxy.io/owning-gateway-name={name_of(gw)},gateway.envoyproxy.io/owning-gateway-namespace={ns_of(gw)}",
        ],
    )


def _not_programmed(ctx: Ctx, gw: Obj, accepted: dict[str, Any] | None,
                    programmed: dict[str, Any] | None) -> str | None:
    """The Gateway's own conditions say it is not accepted or programmed (or nothing says)."""
    gref = f"{ns_of(gw)}/{name_of(gw)}"
    problems = []
    if accepted is not None and accepted.get("status") != "True":
        problems.append(("Accepted", accepted))
    if programmed is not None and programmed.get("status") != "True":
        problems.append(("Programmed", programmed))
    if accepted is None and programmed is None:
        problems.append(("status", {"reason": "Pending", "message": "no conditions: no controller has reconciled the Gateway"}))
    if not problems:
        return None
    text = "; ".join(
        f"{t}={c.get('status', 'unset')} {c.get('reason', '')}: {c.get('message', '')}".strip()
        for t, c in problems
    )
    message = f"Gateway {gref} is not programmed ({text})"
    evidence: dict[str, Any] = {"gateway": gref, "conditions": [c for _, c in problems]}
    commands = [cmd.describe("gateway", ns_of(gw), name_of(gw))]
    # Envoy Gateway says only "Envoy replicas unavailable" (NoResources): name the
    # Deployment it counts, when it is read and has none available.
    down = _unavailable_data_plane(ctx, gw)
    if down is not None:
        message += f": {down[0]}"
        evidence["deployments"] = down[1]
        commands += down[2]
    ctx.add("gateway-not-programmed", message, evidence=evidence, commands=commands)
    return text


def _unavailable_data_plane(ctx: Ctx, gw: Obj) -> tuple[str, list[str], list[str]] | None:
    """When every Envoy data plane Deployment of the Gateway has no available replica: what
    to say, the Deployments, the commands that show why. None when one is available or
    none is known."""
    dp = _data_plane(ctx, gw)
    down = [d for d in dp if not deployment_available(d)]
    if not dp or len(down) != len(dp):
        return None
    d0 = down[0]
    text = (
        f"the Envoy data plane Deployment {ns_of(d0)}/{name_of(d0)} has "
        f"{status(d0).get('availableReplicas') or 0}/{spec(d0).get('replicas', 1)} available replicas"
    )
    commands = [f"kubectl -n {ns_of(d0)} get deploy {name_of(d0)}",
                f"kubectl -n {ns_of(d0)} describe pods -l gateway.envoyproxy.io/owning-gateway-name={name_of(gw)}"]
    return text, [f"{ns_of(d)}/{name_of(d)}" for d in dp], commands


def _data_plane_down(ctx: Ctx, gw: Obj) -> str | None:
    """Every Envoy data plane Deployment of the Gateway is unavailable."""
    down = _unavailable_data_plane(ctx, gw)
    if down is None:
        return None
    text, deployments, commands = down
    ctx.add(
        "gateway-not-programmed",
        f"Gateway {ns_of(gw)}/{name_of(gw)} has no running data plane: {text}",
        evidence={"gateway": f"{ns_of(gw)}/{name_of(gw)}", "deployments": deployments},
        commands=commands,
    )
    return text


def _data_plane(ctx: Ctx, gw: Obj) -> list[Obj]:
    """The Envoy proxy Deployments of a Gateway, found by Envoy Gateway's owner labels."""
    gname, gns = name_of(gw), ns_of(gw)
    gclass = str(spec(gw).get("gatewayClassName") or "")
    out = []
    for d in ctx.idx.all("Deployment"):
        lab = labels(d)
        if lab.get("gateway.envoyproxy.io/owning-gateway-name") == gname and lab.get(
            "gateway.envoyproxy.io/owning-gateway-namespace"
        ) == gns or (gclass and lab.get("gateway.envoyproxy.io/owning-gatewayclass") == gclass):
            out.append(d)
    return out


def _service_evidence(svc: Obj) -> dict[str, Any]:
    ingress = []
    for i in as_list(as_dict(as_dict(status(svc).get("loadBalancer"))).get("ingress")):
        if isinstance(i, dict):
            v = i.get("ip") or i.get("hostname")
            if v:
                ingress.append(str(v))
    return {
        "service": f"{ns_of(svc)}/{name_of(svc)}",
        "type": spec(svc).get("type") or "ClusterIP",
        "ingress": ingress,
        "externalIPs": as_list(spec(svc).get("externalIPs")) or None,
        "annotations": annotations_of(svc) or None,
    }


def _listener_node(ctx: Ctx, ls: Listener, lb_ingress: list[str]) -> None:
    gw = ls.gateway
    st = ls.status or {}
    conds = st.get("conditions")
    lref = f"{ns_of(gw)}/{name_of(gw)} listener {ls.name}"
    bad = []
    for t, good in (("Accepted", "True"), ("Programmed", "True"), ("ResolvedRefs", "True"), ("Conflicted", "False")):
        c = condition(conds, t)
        if c is not None and c.get("status") != good:
            bad.append((t, c))
    details = {
        "listener": ls.name,
        "hostname": ls.hostname or "",
        "port": ls.port,
        "protocol": ls.protocol,
        "attachedRoutes": st.get("attachedRoutes"),
        "certificateRefs": as_list(as_dict(ls.spec.get("tls")).get("certificateRefs")) or None,
    }
    if not bad:
        ctx.set_node("listener", "pass", f"{lref} ({ls.hostname or '*'}:{ls.port}) accepts the host", **details)
        return
    # Certificate-reference problems belong to cert issuance; the cert layer reports them.
    ref_problem = [c for t, c in bad if t == "ResolvedRefs" and c.get("reason") in ("InvalidCertificateRef", "RefNotPermitted", "PartiallyInvalidCertificateRef")]
    other = [
        (t, c)
        for t, c in bad
        if not (t == "ResolvedRefs" and c in ref_problem)
        and not (t == "Programmed" and ref_problem)  # Programmed=False Invalid follows the ref
    ]
    text = "; ".join(f"{t}={c.get('status')} {c.get('reason', '')}: {c.get('message', '')}".strip() for t, c in bad)
    if ref_problem:
        ctx.listener_cert_broken = True
    if other:
        otext = "; ".join(f"{t}={c.get('status')} {c.get('reason', '')}: {c.get('message', '')}".strip() for t, c in other)
        ctx.add(
            "gateway-not-programmed",
            f"{lref} is not ready ({otext})",
            node="listener",
            evidence={"listener": ls.name, "conditions": [c for _, c in other]},
            commands=[cmd.describe("gateway", ns_of(gw), name_of(gw))],
        )
    ctx.set_node("listener", "fail", f"{lref}: {text}", **details)
