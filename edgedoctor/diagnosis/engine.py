"""evidence -> diagnosis: the one pure function every front end calls.

Each layer runs guarded: a bug or an unexpected object shape in one layer turns
its node into `error` with the reason, and the others still report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from edgedoctor import catalog
from edgedoctor.diagnosis.certs import diagnose_certificates
from edgedoctor.diagnosis.context import Ctx
from edgedoctor.diagnosis.controllers import find_controllers
from edgedoctor.diagnosis.dnssync import diagnose_external_dns, diagnose_k8s_gateway
from edgedoctor.diagnosis.edgefacts import edge_facts, probe_facts
from edgedoctor.diagnosis.findings import failure_reason, set_severity
from edgedoctor.diagnosis.gaps import covered, read_gaps
from edgedoctor.diagnosis.gateway import diagnose_gateway
from edgedoctor.diagnosis.index import ClusterIndex, as_dict, as_list, name_of, ns_of, spec
from edgedoctor.diagnosis.mistyped import mark_mistyped
from edgedoctor.diagnosis.proxyproto import diagnose_proxy_protocol
from edgedoctor.diagnosis.ranking import dedupe, rank
from edgedoctor.diagnosis.redirect import diagnose_redirect_objects
from edgedoctor.diagnosis.routing import diagnose_route
from edgedoctor.evidence import Evidence
from edgedoctor.model import NODE_ORDER, Diagnosis, Finding, NodeResult
from edgedoctor.textfmt import fill
from edgedoctor.timefmt import parse_rfc3339, utc_now

Layer = Callable[[Ctx], Any]

def _guard(ctx: Ctx, nodes: tuple[str, ...], layer: Layer) -> Any:
    try:
        return layer(ctx)
    except Exception as e:  # a bug must never hide the other layers
        reason = failure_reason(layer.__name__, e)
        for n in nodes:
            if n not in ctx.nodes:
                ctx.set_node(n, "error", reason)
        ctx.notes.append(reason)
        return None


def _now(ev: Evidence) -> datetime:
    t = parse_rfc3339(ev.now)
    return t or datetime.now(timezone.utc)


@dataclass
class ClusterAnalysis:
    """What the cluster layers found for one evidence state, before the probes' layer.

    `finish` consumes it (the probes' layer and the ranking add to `ctx`); compute
    `probe_inputs` from it before that. Computing it once and handing it to both is
    how a staged run avoids running the cluster layers twice on the same evidence.
    """

    ctx: Ctx
    # Why external-dns will not publish the host (empty when it would, or is absent).
    blockers: list[str]


def analyze_cluster(ev: Evidence, idx: ClusterIndex | None = None,
                    controllers: dict[str, Any] | None = None) -> ClusterAnalysis:
    """The cluster layers (gateway … secret, external-dns, k8s_gateway, PROXY protocol).

    They read the probes' DNS answers when there are some (`Ctx.probed_dns`: which
    Gateway DNS points at, whether the host's record is there), so the evidence before
    the probes and the evidence with them are analysed once each: a probed check runs
    these layers twice, on two different evidence states, and never twice on one. `idx` and
    `controllers`, when given, are used as they are: a caller diagnosing many hosts of
    one cluster builds them once.
    """
    ctx, blockers = _cluster_layers(ev, idx, controllers)
    return ClusterAnalysis(ctx, blockers)


def _cluster_layers(ev: Evidence, idx: ClusterIndex | None = None,
                    controllers: dict[str, Any] | None = None) -> tuple[Ctx, list[str]]:
    idx = idx if idx is not None else ClusterIndex(ev.cluster)
    if controllers is None:
        controllers = find_controllers(idx)
    ctx = Ctx(ev=ev, idx=idx, host=ev.host, now=_now(ev), controllers=controllers)
    if not ev.cluster.reachable:
        reason = next((e.get("reason") for e in ev.cluster.errors if e.get("kind") == "*"), "cluster unreachable")
        for n in ("load-balancer", "gateway", "listener", "route", "backend", "certificate",
                  "certificate-request", "order", "challenge", "secret"):
            ctx.set_node(n, "unknown", f"cluster not read: {reason}")
        return ctx, []
    _guard(ctx, ("load-balancer", "gateway", "listener"), diagnose_gateway)
    if any(f.code == "gatewayclass-not-accepted" for f in ctx.findings):
        ctx.set_node("route", "skip", "GatewayClass not accepted: no controller attaches routes")
        ctx.set_node("backend", "skip", "GatewayClass not accepted")
    else:
        _guard(ctx, ("route", "backend"), diagnose_route)
    _guard(ctx, ("certificate", "certificate-request", "order", "challenge", "secret"), diagnose_certificates)
    _guard(ctx, ("dns",), diagnose_proxy_protocol)
    _guard(ctx, ("dns",), diagnose_k8s_gateway)
    blockers = _guard(ctx, ("dns",), diagnose_external_dns) or []
    return ctx, blockers


def cluster_context(ev: Evidence) -> Ctx:
    """The host's chain as the cluster layers found it (for playbooks and front ends)."""
    return analyze_cluster(ev).ctx


def probe_inputs(analysis: ClusterAnalysis) -> dict[str, Any]:
    """What the probes should ask, as the cluster objects tell it (pure)."""
    return probe_facts(analysis.ctx)


def diagnose(ev: Evidence) -> Diagnosis:
    return assemble(diagnose_context(ev))


def diagnose_context(ev: Evidence, idx: ClusterIndex | None = None,
                     controllers: dict[str, Any] | None = None) -> Ctx:
    """Every layer run, before assembly (see `analyze_cluster` for `idx`, `controllers`)."""
    return complete_layers(analyze_cluster(ev, idx, controllers))


def finish(analysis: ClusterAnalysis) -> Diagnosis:
    """The diagnosis from an analysis of the cluster layers (which it consumes)."""
    return assemble(complete_layers(analysis))


def complete_layers(analysis: ClusterAnalysis) -> Ctx:
    """The probes' layer and the demotions on top of the cluster layers, before assembly."""
    ctx, blockers = analysis.ctx, analysis.blockers
    ev = ctx.ev
    world_ran = False
    if ev.dns is not None or ev.tls is not None or ev.http is not None:
        world_ran = bool(_guard(ctx, ("dns", "served-certificate", "http-redirect"), lambda c: _world(c, blockers)))
    if not world_ran and ev.cluster.reachable:
        _guard(ctx, ("http-redirect",), diagnose_redirect_objects)
    if world_ran:
        _secret_seen_on_wire(ctx)
    if ev.cluster.reachable:
        _guard(ctx, (), mark_mistyped)
    _demote_symptoms(ctx, blockers)
    _default_dns_node(ctx, blockers)
    _controller_details(ctx)
    for n in NODE_ORDER:
        if n not in ctx.nodes:
            reason = "not probed (offline)" if n in ("dns", "served-certificate", "http-redirect") else "not applicable"
            ctx.set_node(n, "skip", reason)
    return ctx


def _world(ctx: Ctx, blockers: list[str]) -> bool:
    from edgedoctor.diagnosis import world

    ev = ctx.ev
    facts = edge_facts(ctx)
    out = world.analyze_world(ev.dns, ev.tls, ev.http, facts)
    for name, node in out.nodes.items():
        if name == "load-balancer" and name in ctx.nodes:
            ctx.nodes[name].details.update(node.details)
            if node.status in ("fail", "warn") and ctx.nodes[name].status == "pass":
                ctx.nodes[name] = NodeResult(name, node.status, node.summary, ctx.nodes[name].details)
            continue
        ctx.nodes[name] = node
    from edgedoctor.diagnosis.storedcert import renewal_failing

    for f in out.findings:
        if f.code == "cert-expiring" and ctx.certificate is not None and not renewal_failing(ctx, ctx.certificate):
            # In the renewal window, but cert-manager is renewing on schedule: not a fault.
            set_severity(f, "info")
            f.message += "; cert-manager is renewing it on schedule"
        if f.code == "dns-no-record" and blockers:
            f.message += "; external-dns will not publish it: " + "; ".join(blockers)
            f.evidence = {**f.evidence, "external_dns_reasons": blockers}
        if f.code == "dns-no-record" and ctx.listener_cert_broken and (blockers or not _route_accepted_status(ctx)):
            # The listener has no usable certificate, so the route is not Accepted and
            # external-dns does not publish the host: the record is missing because of it.
            f.explained_by = next((c.code for c in ctx.findings if c.severity == "critical"
                                   and c.node in ("listener", "secret") and c.code.startswith("cert-")), None)
        ctx.findings.append(f)
    return True


def _secret_seen_on_wire(ctx: Ctx) -> None:
    """A Secret the user may not read, whose certificate the listener serves, is not unknown.

    Envoy Gateway resolved it (the listener does not reject it) and the TLS probe judged
    what it serves: the served-certificate node carries that judgement, so the Secret's
    node points there instead of making a healthy edge UNKNOWN for lack of a read.
    """
    node = ctx.nodes.get("secret")
    served = ctx.nodes.get("served-certificate")
    if node is None or node.status != "unknown" or ctx.secret is not None or ctx.secret_ref is None:
        return
    if ctx.idx.read_error("Secret") is None or ctx.listener is None:
        return
    rr = next((c for c in as_list((ctx.listener.status or {}).get("conditions"))
               if isinstance(c, dict) and c.get("type") == "ResolvedRefs"), None)
    if rr is not None and rr.get("status") == "False":
        return  # the listener rejects its certificate reference: that is not seen on the wire
    if served is None or served.status not in ("pass", "warn", "fail"):
        return
    sref = "/".join(ctx.secret_ref)
    # The Certificate's status tells the validity of what cert-manager stored: a served
    # certificate of another validity is an older (or foreign) one, and which one the
    # Secret holds cannot be told without reading it.
    stored = parse_rfc3339(as_dict(ctx.certificate.get("status")).get("notAfter")) if ctx.certificate else None
    served_ends = {parse_rfc3339(c.get("not_after")) for c in as_list(served.details.get("certificates"))
                   if isinstance(c, dict)}
    if stored is not None and served_ends and stored not in served_ends:
        ctx.set_node("secret", "unknown",
                     f"Secret {sref} could not be read, and its Certificate says it holds a certificate valid until "
                     f"{as_dict(ctx.certificate and ctx.certificate.get('status')).get('notAfter')} while the listener serves another",
                     **node.details)
        return
    ctx.secret_from_wire = True
    ctx.set_node(
        "secret",
        "pass" if served.status == "pass" else "warn",
        f"Secret {sref} could not be read; the listener serves its certificate: {served.summary}",
        **node.details,
        judged_from="served-certificate",
    )


def _demote_symptoms(ctx: Ctx, blockers: list[str]) -> None:
    """Findings that are no fault at all in this evidence become info.

    Which finding is a consequence of which is the ranking's business
    (edgedoctor/diagnosis/ranking.py); here only what is not a problem is said so.
    """
    codes = {f.code for f in ctx.findings if f.severity == "critical"}
    if "dns-internal-split-horizon" in codes:
        for f in ctx.findings:
            if f.code == "dns-propagation":
                # k8s_gateway answers NXDOMAIN because it does not know the name: no cache to wait out.
                set_severity(f, "info")
    for f in ctx.findings:
        if f.code == "dns-ownership-conflict" and (ctx.route is None or not ctx.route_accepted or blockers):
            # external-dns does not manage this host: a foreign record is no conflict with it.
            set_severity(f, "info")
            f.message += " (external-dns does not manage this host, so it is no conflict)"


def _controller_details(ctx: Ctx) -> None:
    """Which controller (image, version, availability) stands behind each node."""
    for role, node in (("envoy-gateway", "gateway"), ("cert-manager", "certificate"),
                       ("external-dns", "dns"), ("k8s-gateway", "dns")):
        n = ctx.nodes.get(node)
        cs = ctx.controllers.get(role) or []
        if n is None or not cs:
            continue
        n.details.setdefault("controllers", []).extend(
            {"role": role, "deployment": f"{c.namespace}/{c.name}", "image": c.image,
             "version": c.version_text, "available": c.available}
            for c in cs
        )


def _default_dns_node(ctx: Ctx, blockers: list[str]) -> None:
    if "dns" in ctx.nodes:
        return
    dns_findings = [f for f in ctx.findings if f.node == "dns"]
    crit = [f for f in dns_findings if f.severity == "critical"]
    if crit:
        ctx.set_node("dns", "fail", crit[0].message)
    elif dns_findings:
        ctx.set_node("dns", "warn", dns_findings[0].message)
    elif ctx.ev.dns is None:
        what = "external-dns would publish it" if ctx.route_accepted and not blockers and ctx.controllers.get("external-dns") else "objects only"
        ctx.set_node("dns", "skip", f"not probed (offline); {what}", expected_addresses=ctx.expected_addresses or None)


def placeholder_values(ctx: Ctx, category: str | None = None) -> dict[str, str]:
    """The names the catalog's `confirm` and the playbooks' commands are filled with."""
    v: dict[str, str] = {"host": ctx.host}
    dns = ctx.ev.dns or {}
    if dns.get("zone"):
        v["zone"] = str(dns["zone"]).rstrip(".")
    auth = as_list(dns.get("authoritative_servers"))
    if auth and isinstance(auth[0], dict):
        v["authoritative"] = str(auth[0].get("address"))
    rec = as_list(dns.get("recursive_servers"))
    if rec and isinstance(rec[0], dict):
        v["resolver"] = str(rec[0].get("address"))
    if ctx.gateway is not None:
        v["gateway"], v["gateway_namespace"] = name_of(ctx.gateway), ns_of(ctx.gateway)
    if ctx.listener is not None:
        v["listener"] = ctx.listener.name
    if ctx.expected_addresses:
        v["address"] = ctx.expected_addresses[0]
    if ctx.route is not None:
        v["route"], v["route_namespace"] = name_of(ctx.route), ns_of(ctx.route)
        be = [b for r in as_list(spec(ctx.route).get("rules")) for b in as_list(as_dict(r).get("backendRefs"))]
        if be and isinstance(be[0], dict) and be[0].get("name"):
            v["service"] = str(be[0]["name"])
            v["service_namespace"] = str(be[0].get("namespace") or ns_of(ctx.route))
    if ctx.secret_ref is not None:
        v["secret_namespace"], v["secret"] = ctx.secret_ref
    if ctx.certificate is not None:
        v["certificate"], v["certificate_namespace"] = name_of(ctx.certificate), ns_of(ctx.certificate)
        ir = as_dict(spec(ctx.certificate).get("issuerRef"))
        if ir.get("name"):
            v["issuer"] = str(ir["name"])
            v["issuer_kind"] = str(ir.get("kind") or "Issuer")
    if ctx.challenges:
        v["challenge"] = name_of(ctx.challenges[0])
    order_node = ctx.nodes.get("order")
    if order_node and order_node.details.get("order"):
        v["order"] = str(order_node.details["order"]).split("/", 1)[-1]
    role = {"cert-issuance": "cert-manager", "dns-sync": "external-dns", "app-routing": "envoy-gateway"}.get(category or "")
    c = ctx.controller(role) if role else None
    if c is not None:
        v["controller_namespace"] = c.namespace
    return v


# How bad a node status is, next to a finding's severity. Unknown and error say the state
# was not established: a finding does not turn them into a judgement.
_STATUS_FLOOR = {"warning": "warn", "critical": "fail"}
_STATUS_RANK = {"skip": 0, "pass": 0, "warn": 1, "fail": 2}


def settle_nodes(nodes: dict[str, NodeResult], findings: list[Finding]) -> None:
    """A node that carries a finding is never shown better than the finding's severity.

    The layers set a node from the object they read (a Secret that holds a valid
    certificate is "valid"); a later layer may find that this very node is why the host
    fails (the listener cannot read that Secret across namespaces). The tree, the banner,
    the text and the JSON must not contradict each other, so the node takes the worst
    severity of its findings and its summary names the finding.
    """
    for f in findings:  # sorted most severe first
        floor = _STATUS_FLOOR.get(f.severity)
        n = nodes.get(f.node)
        if floor is None or n is None or n.status not in _STATUS_RANK:
            continue
        if _STATUS_RANK[n.status] >= _STATUS_RANK[floor]:
            continue
        summary = n.summary if n.status != "skip" else ""
        summary = f"{f.code}: {summary}" if summary else f"{f.code}: {f.message}"
        nodes[f.node] = NodeResult(n.node, floor, summary, {**n.details, "raised_by": f.code})  # type: ignore[arg-type]


_CERT_CHAIN = ("certificate", "certificate-request", "order", "challenge", "secret")


def verdict_label(verdict: str, tree: list[NodeResult]) -> str | None:
    """Why a WARNING verdict stands over nodes marked FAIL (None when nothing needs saying).

    A warning means users are still served; a FAIL node below it reads as a contradiction
    unless the banner says what still works.
    """
    if verdict != "warning":
        return None
    failing = [n.node for n in tree if n.status == "fail"]
    if not failing:
        return None
    by = {n.node: n for n in tree}
    served = by.get("served-certificate")
    if all(n in _CERT_CHAIN for n in failing):
        until = _valid_until(by)
        what = "renewal blocked" if _has_current_cert(by) else "issuance blocked"
        if served is not None and served.status in ("pass", "warn") and until:
            return f"{what}, current certificate valid until {until} ({', '.join(failing)} failing)"
        if until:
            return f"{what}, stored certificate valid until {until} ({', '.join(failing)} failing)"
        return f"{what} ({', '.join(failing)} failing), the host is still served"
    return f"{', '.join(failing)} failing, but no critical finding: the host is still served"


def _valid_until(by: dict[str, NodeResult]) -> str | None:
    for name in ("secret", "served-certificate"):
        n = by.get(name)
        if n is None:
            continue
        until = n.details.get("not_after")
        if not until and isinstance(n.details.get("secret"), dict):
            until = n.details["secret"].get("not_after")
        if until:
            return str(until)
    return None


def _route_accepted_status(ctx: Ctx) -> bool:
    """The route's own status for the Gateway says Accepted=True (what external-dns requires)."""
    from edgedoctor.diagnosis.index import cond_status

    st = as_dict(ctx.route_parent_status)
    return cond_status(st.get("conditions"), "Accepted") == "True"


def _has_current_cert(by: dict[str, NodeResult]) -> bool:
    s = by.get("secret")
    return s is not None and s.status in ("pass", "warn")


def assemble(ctx: Ctx) -> Diagnosis:
    findings = dedupe(ctx.findings)
    for f in findings:
        try:
            e = catalog.entry(f.code)
        except catalog.UnknownCode:
            e = {}
        f.category = e.get("category")
        f.playbooks = list(e.get("playbooks") or [])
        values = placeholder_values(ctx, f.category)
        for tmpl in e.get("confirm") or []:
            filled = fill(str(tmpl), values, missing=None)
            if filled and filled not in f.commands:
                f.commands.append(filled)
    findings = rank(findings)
    settle_nodes(ctx.nodes, findings)
    tree = [ctx.nodes[n] for n in NODE_ORDER if n in ctx.nodes]
    errors = ctx.ev.cluster.errors
    gaps = read_gaps(errors)
    unknown = [f"{n.node}: {n.summary}" for n in tree if n.status in ("unknown", "error")]
    crit = [f for f in findings if f.severity == "critical"]
    warn = [f for f in findings if f.severity == "warning"]
    # Kinds the layers looked at but could not read (a Secret whose certificate the
    # listener was seen serving stands established by the probe).
    hidden = sorted(k for k in ctx.idx.consulted_gaps if k != "*" and not (k == "Secret" and ctx.secret_from_wire))
    if crit:
        verdict = "critical"
        root: Finding | None = crit[0]
    elif unknown or hidden:
        # "OK" or a warning must not rest on a kind that could not be read.
        verdict, root = "unknown", None
    elif warn:
        verdict, root = "warning", warn[0]
    else:
        verdict, root = "ok", None
    root_cause: dict[str, Any] | None = None
    if root is not None:
        try:
            title = catalog.entry(root.code).get("title")
        except catalog.UnknownCode:
            title = root.code
        summary = root.message
        if hidden:
            # A cause may sit in what could not be read: say so beside the one named.
            summary += (f" (not established: {', '.join(hidden)} could not be read, "
                        "and the cause may lie there)")
        root_cause = {"code": root.code, "title": title, "summary": summary}
    source = dict(ctx.ev.source)
    if ctx.ev.cluster.context and "context" not in source:
        source["context"] = ctx.ev.cluster.context
    label = verdict_label(verdict, tree)
    return Diagnosis(
        host=ctx.host,
        verdict=verdict,  # type: ignore[arg-type]
        category=root.category if root else None,
        root_cause=root_cause,
        findings=findings,
        tree=tree,
        source=source,
        generated_at=utc_now(),
        # Every kind that could not be read, whatever the verdict; node reasons that only
        # repeat one of those are left out (one line per cause).
        unknown_reasons=gaps + [r for r in unknown if not covered(r, errors)] if verdict == "unknown" else gaps,
        verdict_label=label,
    )
