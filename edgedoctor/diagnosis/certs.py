"""The certificate side: listener Secret -> Certificate -> CertificateRequest ->
Order -> Challenge, walked by owner references as cmctl does, with the failure
detail taken from the deepest object that has one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from edgedoctor.certinfo import cert_info, seconds_left, secret_chain_pem, split_pem
from edgedoctor.diagnosis import commands as cmd
from edgedoctor.diagnosis.acme_errors import classify, cloudflare_cleanup_bug_affected
from edgedoctor.diagnosis.context import Ctx, parse_time
from edgedoctor.diagnosis.controllers import fmt_version
from edgedoctor.diagnosis.hostnames import gw_matches, san_covers, sans_cover
from edgedoctor.diagnosis.index import (
    Obj,
    annotations,
    as_dict,
    as_list,
    condition,
    meta,
    name_of,
    ns_of,
    spec,
    status,
)
from edgedoctor.diagnosis.routing import _grant_allows

CHAIN_NODES = ("certificate", "certificate-request", "order", "challenge")
PROPAGATION_THRESHOLD_MIN = 10.0
ORDER_STUCK_THRESHOLD_MIN = 30.0
DEFAULT_RENEW_WINDOW = timedelta(days=15)


def _skip_chain(ctx: Ctx, reason: str, nodes: tuple[str, ...] = CHAIN_NODES) -> None:
    for n in nodes:
        if n not in ctx.nodes:
            ctx.set_node(n, "skip", reason)


def diagnose_certificates(ctx: Ctx) -> None:
    ls = ctx.listener
    if ls is None:
        _skip_chain(ctx, "no listener for the host", CHAIN_NODES + ("secret",))
        return
    tls = as_dict(ls.spec.get("tls"))
    if ls.protocol == "TLS" and (tls.get("mode") == "Passthrough"):
        _skip_chain(ctx, "TLS passthrough: the backend terminates TLS", CHAIN_NODES + ("secret",))
        return
    refs = [r for r in as_list(tls.get("certificateRefs")) if isinstance(r, dict)]
    gw = ls.gateway
    gns = ns_of(gw)
    if not refs:
        ctx.set_node("secret", "fail", f"listener {ls.name} has no certificateRefs")
        _skip_chain(ctx, "the listener names no certificate")
        return
    ref = refs[0]
    sns = str(ref.get("namespace") or gns)
    sname = str(ref.get("name") or "")
    ctx.secret_ref = (sns, sname)
    rr = condition((ls.status or {}).get("conditions"), "ResolvedRefs")
    rr_bad = rr is not None and rr.get("status") != "True"
    rr_reason = (rr or {}).get("reason")
    rr_msg = str((rr or {}).get("message") or "")
    idx = ctx.idx
    secret = idx.get("Secret", sns, sname)
    ctx.secret = secret
    sref = f"{sns}/{sname}"

    # Cross-namespace reference without a ReferenceGrant.
    if sns != gns:
        grant = _grant_allows(idx, "Gateway", gns, "Secret", sns, sname)
        if (rr_bad and rr_reason == "RefNotPermitted") or grant is False:
            ctx.add(
                "cert-refgrant-missing",
                "critical",
                "secret",
                f"listener {ls.name} of Gateway {gns}/{name_of(gw)} refers to Secret {sref} in another "
                f"namespace and no ReferenceGrant in {sns} allows it"
                + (f" ({rr_reason}: {rr_msg})" if rr_bad else ""),
                evidence={"gateway": f"{gns}/{name_of(gw)}", "secret": sref, "listener_condition": rr},
                commands=[f"kubectl -n {sns} get referencegrants -o yaml", cmd.describe("gateway", gns, name_of(gw))],
                specificity=29,
            )

    says_missing = rr_bad and rr_reason == "InvalidCertificateRef" and "does not exist" in rr_msg
    secret_missing = secret is None and (idx.was_read("Secret") or says_missing)
    if secret is None and not idx.was_read("Secret") and not says_missing and rr_bad and rr_reason == "RefNotPermitted":
        secret_missing = False

    certs = [c for c in idx.in_namespace("Certificate", sns) if spec(c).get("secretName") == sname]
    certs.sort(key=lambda c: (condition(status(c).get("conditions"), "Ready") or {}).get("status") != "True")
    cert = certs[0] if certs else None
    ctx.certificate = cert
    _cert_manager_health(ctx, cert, secret_missing)

    if cert is None:
        _no_certificate(ctx, ls, sns, sname, secret_missing, rr)
    else:
        _walk_chain(ctx, cert, secret_missing)

    # The secret node and the stored certificate.
    if secret is not None:
        pem = secret_chain_pem(secret)
        ctx.secret_pem = pem
        if not pem:
            keys = as_list(secret.get("keys"))
            ctx.set_node("secret", "fail", f"Secret {sref} holds no certificate in tls.crt", keys=keys)
            return
        _stored_certificate(ctx, sref, pem, cert)
    elif secret_missing:
        node = ctx.nodes.get("secret")
        if node is None:
            ctx.set_node("secret", "fail", f"Secret {sref} does not exist", listener_condition=rr)
        listener_says = f" (listener: {rr_reason}: {rr_msg})" if says_missing else ""
        ctx.add(
            "cert-secret-missing",
            "critical",
            "secret",
            f"the listener's Secret {sref} does not exist{listener_says}",
            evidence={"secret": sref, "listener_condition": rr,
                      "certificate": f"{ns_of(cert)}/{name_of(cert)}" if cert else None},
            commands=[f"kubectl -n {sns} get secret {sname}"]
            + ([cmd.cmctl_status(ns_of(cert), name_of(cert))] if cert else []),
            specificity=20,
        )
    else:
        ctx.set_node("secret", "unknown", f"Secret {sref} was not read", listener_condition=rr)
    # Listener reports the stored certificate as unusable (expired, wrong type).
    if rr_bad and rr_reason == "InvalidCertificateRef" and not says_missing:
        low = rr_msg.lower()
        code = "cert-expired" if ("expired" in low or "not yet valid" in low or "valid after" in low) else "cert-secret-missing"
        ctx.add(
            code,
            "critical",
            "secret",
            f"Envoy Gateway rejects Secret {sref}: {rr_msg}",
            evidence={"secret": sref, "listener_condition": rr},
            commands=[f"kubectl -n {sns} get secret {sname} -o jsonpath='{{.data.tls\\.crt}}' | base64 -d | openssl x509 -noout -dates -subject"],
            specificity=21,
        )


def _cert_manager_health(ctx: Ctx, cert: Obj | None, secret_missing: bool) -> None:
    idx = ctx.idx
    uses_cm = cert is not None or bool(idx.all("Certificate"))
    cm_err = idx.read_error("Certificate")
    if cm_err and "not installed" in str(cm_err.get("reason", "")) and secret_missing:
        ctx.add(
            "cert-manager-down",
            "critical",
            "certificate",
            f"cert-manager is not installed ({cm_err.get('reason')}), so nothing issues the listener's Secret",
            evidence={"error": cm_err},
            commands=["kubectl get crd certificates.cert-manager.io", "kubectl get deploy -A -l app.kubernetes.io/name=cert-manager"],
            specificity=31,
        )
        return
    if not uses_cm or not idx.was_read("Deployment"):
        return
    cms = ctx.controllers.get("cert-manager") or []
    running = [c for c in cms if c.available]
    if running:
        return
    ready = cert is not None and (condition(status(cert).get("conditions"), "Ready") or {}).get("status") == "True"
    broken = secret_missing or not ready
    if cms:
        c = cms[0]
        st = status(c.deployment)
        why = (
            f"Deployment {c.namespace}/{c.name} has {st.get('availableReplicas', 0) or 0} available of "
            f"{spec(c.deployment).get('replicas', 1)} replicas"
        )
    else:
        why = "no cert-manager controller Deployment runs in the cluster"
    ctx.add(
        "cert-manager-down",
        "critical" if broken else "warning",
        "certificate",
        f"cert-manager is down: {why}; no certificate is issued or renewed"
        + ("" if broken else " (the current certificate still works)"),
        evidence={"deployments": [{"deployment": f"{c.namespace}/{c.name}", "image": c.image, "available": c.available} for c in cms]},
        commands=["kubectl get deploy -A -l app.kubernetes.io/name=cert-manager", "kubectl -n cert-manager get pods"],
        specificity=32 if broken else 10,
    )


def _no_certificate(ctx: Ctx, ls: Any, sns: str, sname: str, secret_missing: bool, rr: Any) -> None:
    wanted = [h for h in (ls.hostname, ctx.host) if h]
    similar = []
    for c in ctx.idx.all("Certificate"):
        names = [str(n).lower() for n in as_list(spec(c).get("dnsNames"))]
        if any(n == w or gw_matches(n, ctx.host) for n in names for w in wanted):
            similar.append(c)
    similar.sort(key=lambda c: (ns_of(c) != sns, name_of(c)))
    if similar:
        c = similar[0]
        other = spec(c).get("secretName")
        ctx.add(
            "cert-secret-name-mismatch",
            "critical" if secret_missing else "warning",
            "secret",
            f"listener {ls.name} refers to Secret {sns}/{sname}, but Certificate {ns_of(c)}/{name_of(c)} "
            f"for {', '.join(as_list(spec(c).get('dnsNames')))} writes Secret {ns_of(c)}/{other}; no Certificate writes {sname}",
            evidence={
                "listener_secret": f"{sns}/{sname}",
                "certificate": f"{ns_of(c)}/{name_of(c)}",
                "certificate_secretName": other,
                "listener_condition": rr,
            },
            commands=[
                "kubectl get certificates -A -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,SECRET:.spec.secretName,DNS:.spec.dnsNames",
                f"kubectl -n {ns_of(ls.gateway)} get gateway {name_of(ls.gateway)} -o jsonpath='{{.spec.listeners[*].tls.certificateRefs}}'",
            ],
            specificity=29,
        )
        ctx.set_node("certificate", "fail", f"no Certificate writes {sname}; {ns_of(c)}/{name_of(c)} writes {other}",
                     certificate=f"{ns_of(c)}/{name_of(c)}", secretName=other)
    elif ctx.idx.was_read("Certificate"):
        ctx.set_node("certificate", "warn" if not secret_missing else "fail",
                     f"no Certificate has secretName {sname} in {sns}")
    else:
        ctx.set_node("certificate", "unknown", "Certificates were not read")
    _skip_chain(ctx, "no Certificate for the listener's Secret", CHAIN_NODES[1:])


def _rev(obj: Obj) -> int | None:
    v = annotations(obj).get("cert-manager.io/certificate-revision")
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def _latest(objs: list[Obj]) -> Obj | None:
    if not objs:
        return None
    return max(objs, key=lambda o: (str(meta(o).get("creationTimestamp") or ""), name_of(o)))


def _requests_for(ctx: Ctx, cert: Obj) -> list[Obj]:
    crs = ctx.idx.owned_by(cert, "CertificateRequest")
    if not crs:
        crs = [
            c
            for c in ctx.idx.in_namespace("CertificateRequest", ns_of(cert))
            if annotations(c).get("cert-manager.io/certificate-name") == name_of(cert)
        ]
    return crs


def _walk_chain(ctx: Ctx, cert: Obj, secret_missing: bool) -> None:
    idx = ctx.idx
    cns, cname = ns_of(cert), name_of(cert)
    cref = f"{cns}/{cname}"
    st = status(cert)
    conds = st.get("conditions")
    ready = condition(conds, "Ready") or {}
    issuing = condition(conds, "Issuing") or {}
    is_ready = ready.get("status") == "True"
    base_cmds = [cmd.cmctl_status(cns, cname), cmd.describe("certificate", cns, cname)]
    ctx.set_node(
        "certificate",
        "pass" if is_ready else "fail",
        f"Certificate {cref} "
        + ("Ready" if is_ready else f"not Ready ({ready.get('reason', 'no condition')}: {ready.get('message', '')})"),
        certificate=cref,
        dnsNames=as_list(spec(cert).get("dnsNames")),
        issuerRef=spec(cert).get("issuerRef"),
        ready=ready or None,
        issuing=issuing or None,
        notAfter=st.get("notAfter"),
        renewalTime=st.get("renewalTime"),
        revision=st.get("revision"),
        failedIssuanceAttempts=st.get("failedIssuanceAttempts"),
    )
    # Certificate names vs the host (RFC 6125).
    dns_names = [str(n).lower() for n in as_list(spec(cert).get("dnsNames"))]
    if dns_names and not sans_cover(dns_names, ctx.host):
        ctx.add(
            "cert-san-mismatch",
            "critical",
            "certificate",
            f"Certificate {cref} names {', '.join(dns_names)}, which does not cover {ctx.host}"
            + (" (a wildcard covers exactly one label)" if any(n.startswith("*.") and ctx.host.endswith(n[1:]) for n in dns_names) else ""),
            evidence={"certificate": cref, "dnsNames": dns_names, "host": ctx.host},
            commands=[f"kubectl -n {cns} get certificate {cname} -o jsonpath='{{.spec.dnsNames}}'"],
            specificity=26,
        )

    issuer_ok = _issuer(ctx, cert)
    _solver_selection(ctx, cert)

    crs = _requests_for(ctx, cert)
    revision = st.get("revision") if isinstance(st.get("revision"), int) else None
    next_rev = (revision or 0) + 1
    nxt = [c for c in crs if _rev(c) == next_rev]
    cur = [c for c in crs if revision is not None and _rev(c) == revision]
    cr = _latest(nxt) or (None if is_ready else _latest(crs))
    current = _latest(cur)
    show = cr or current
    messages: list[tuple[str, str, Obj]] = []  # (node, message, object), deepest last
    if issuing.get("message"):
        messages.append(("certificate", str(issuing.get("message")), cert))
    if not is_ready and ready.get("message"):
        messages.append(("certificate", str(ready.get("message")), cert))
    if show is None:
        ctx.set_node("certificate-request", "skip" if is_ready else "fail",
                     "no CertificateRequest" + ("" if is_ready else " for the next revision: cert-manager has not started issuing"))
        _skip_chain(ctx, "no CertificateRequest", ("order", "challenge"))
        order = None
        challenges: list[Obj] = []
    else:
        crc = status(show).get("conditions")
        crready = condition(crc, "Ready") or {}
        denied = condition(crc, "Denied")
        invalid = condition(crc, "InvalidRequest")
        cr_ok = crready.get("status") == "True"
        label = "next revision" if show is cr and cr is not None and _rev(show) == next_rev else "current revision"
        ctx.set_node(
            "certificate-request",
            "pass" if cr_ok else "fail",
            f"CertificateRequest {ns_of(show)}/{name_of(show)} ({label}) "
            + ("issued" if cr_ok else f"{crready.get('reason', 'pending')}: {crready.get('message', '')}"),
            request=f"{ns_of(show)}/{name_of(show)}",
            revision=_rev(show),
            ready=crready or None,
            current=f"{ns_of(current)}/{name_of(current)}" if current is not None and current is not show else None,
        )
        for c in (crready, denied, invalid):
            if c and c.get("message") and not cr_ok:
                messages.append(("certificate-request", str(c.get("message")), show))
        orders = idx.owned_by(show, "Order")
        order = _latest(orders)
        challenges = []
        if order is None:
            ctx.set_node("order", "skip", "no Order (not an ACME issuer, or not created yet)")
            ctx.set_node("challenge", "skip", "no Order")
        else:
            ost = status(order)
            state = str(ost.get("state") or "")
            ctx.set_node(
                "order",
                "pass" if state == "valid" else ("fail" if state in ("invalid", "errored", "expired") else "warn"),
                f"Order {ns_of(order)}/{name_of(order)} state {state or 'unknown'}"
                + (f": {ost.get('reason')}" if ost.get("reason") else ""),
                order=f"{ns_of(order)}/{name_of(order)}",
                state=state,
                reason=ost.get("reason"),
                failureTime=ost.get("failureTime"),
            )
            if ost.get("reason") and state != "valid":
                messages.append(("order", str(ost.get("reason")), order))
            challenges = idx.owned_by(order, "Challenge")
            if not challenges:
                ctx.set_node("challenge", "skip" if state == "valid" else "warn",
                             "no Challenges" + (" (deleted after the Order became valid)" if state == "valid" else ""))
            else:
                items = []
                worst = "pass"
                for ch in challenges:
                    cst = status(ch)
                    cstate = str(cst.get("state") or "pending")
                    items.append({
                        "challenge": f"{ns_of(ch)}/{name_of(ch)}",
                        "dnsName": spec(ch).get("dnsName"),
                        "wildcard": spec(ch).get("wildcard"),
                        "type": spec(ch).get("type"),
                        "state": cstate,
                        "presented": cst.get("presented"),
                        "processing": cst.get("processing"),
                        "reason": cst.get("reason"),
                    })
                    if cst.get("reason") and not (cstate == "valid" and not _is_error_text(str(cst.get("reason")))):
                        messages.append(("challenge", str(cst.get("reason")), ch))
                    if cstate in ("invalid", "errored", "expired") or (cst.get("reason") and _is_error_text(str(cst.get("reason")))):
                        worst = "fail"
                    elif cstate != "valid" and worst == "pass":
                        worst = "warn"
                ctx.set_node("challenge", worst, "; ".join(
                    f"{i['dnsName']}{' (wildcard)' if i['wildcard'] else ''}: {i['state']}"
                    + (f" — {i['reason']}" if i["reason"] else "") for i in items), challenges=items)
    ctx.challenges = challenges

    if is_ready and not secret_missing:
        _renewal(ctx, cert)
        return
    # Not Ready: name the deeper cause, deepest message first.
    for node, message, obj in reversed(messages):
        if _emit_classified(ctx, node, message, obj, cert, base_cmds):
            return
    if _v1160_bug(ctx, cert, None):
        return
    if not issuer_ok:
        return
    if any(f.code in ("cert-solver-no-match", "cert-manager-down") for f in ctx.findings):
        return
    _order_stuck(ctx, cert, show, order, messages, base_cmds)


def _is_error_text(text: str) -> bool:
    low = text.lower()
    return any(w in low for w in ("error", "failed", "invalid", "forbidden", "not found", "unauthorized"))


def _emit_classified(ctx: Ctx, node: str, message: str, obj: Obj, cert: Obj, base_cmds: list[str]) -> bool:
    c = classify(message)
    if c is None:
        return False
    oref = f"{obj.get('kind')} {ns_of(obj)}/{name_of(obj)}"
    cm = ctx.controller("cert-manager")
    version = cm.version if cm else None
    ev: dict[str, Any] = {"object": oref, "message": message, **c.detail}
    cmds = list(base_cmds)
    if obj.get("kind") in ("Challenge", "Order"):
        cmds.insert(0, cmd.describe(str(obj.get("kind")).lower(), ns_of(obj), name_of(obj)))
    code = c.code
    if code == "cert-cloudflare-7003-cleanup":
        affected = cloudflare_cleanup_bug_affected(version)
        ev["cert_manager_version"] = fmt_version(version)
        if affected is False:
            ctx.notes.append(
                f"{oref} shows the Cloudflare empty-zone cleanup error, but cert-manager "
                f"{fmt_version(version)} has the fix: the message is stale or another cause"
            )
            return False
        names = sorted({f"_acme-challenge.{spec(ch).get('dnsName')}" for ch in ctx.challenges if spec(ch).get("dnsName")})
        ev["leaked_txt_records"] = names
        ctx.add(
            code,
            "critical",
            node,
            f"cert-manager {fmt_version(version)} cannot clean up the DNS-01 TXT record on Cloudflare "
            f"(empty zone id in DELETE /zones//dns_records/..., error 7003), so the Order never completes: {oref}"
            + ("" if affected else " (controller version unknown)"),
            evidence=ev,
            commands=cmds + ([cmd.logs(cm.namespace, cm.name, "dns_records")] if cm else []),
            specificity=34,
        )
        return True
    if code == "_cloudflare-secret-not-found":
        if _v1160_bug(ctx, cert, message):
            return True
        code = "cert-cloudflare-token-permission"
        text = f"the Cloudflare API token Secret {c.detail.get('secret')} is not found: {oref}"
    elif code == "cert-cloudflare-token-permission":
        text = f"the Cloudflare API token cannot list or edit the zone (needs Zone:Read and DNS:Edit on the zone): {oref}"
    elif code == "cert-rate-limited":
        limit = c.detail.get("limit", "a Let's Encrypt rate limit")
        retry = c.detail.get("retry_after")
        text = f"Let's Encrypt refuses new orders: {limit}" + (f"; retry after {retry}" if retry else "") + f" ({oref})"
    elif code == "cert-caa-forbids":
        text = f"a CAA record forbids Let's Encrypt from issuing: {oref}"
    elif code == "cert-solver-no-match":
        text = f"no solver of the issuer can be used for the domains: {oref}"
    elif code == "cert-issuer-not-ready":
        text = f"the issuer is missing or not Ready: {oref}"
    elif code == "cert-dns01-propagation-wait":
        waited = ctx.minutes_since(meta(obj).get("creationTimestamp"))
        if waited is not None and waited < PROPAGATION_THRESHOLD_MIN:
            ctx.notes.append(f"{oref} is waiting for DNS-01 propagation since {waited:.0f} min: issuance in progress")
            return False
        ev["waiting_minutes"] = round(waited, 1) if waited is not None else None
        broken = ctx.secret is None or _secret_expired(ctx)
        text = (
            f"the DNS-01 self-check has waited {waited:.0f} min for the _acme-challenge TXT record of "
            f"{spec(obj).get('dnsName')} to appear at the zone's authoritative servers ({oref})"
            if waited is not None
            else f"the DNS-01 self-check is waiting for the _acme-challenge TXT record ({oref})"
        )
        name = spec(obj).get("dnsName")
        if name:
            cmds.insert(0, f"dig _acme-challenge.{name} TXT +trace")
        ctx.add(code, "critical" if broken else "warning", node, text, evidence=ev, commands=cmds, specificity=30)
        return True
    else:  # pragma: no cover - classify() returns only the codes above
        text = f"{message} ({oref})"
    ctx.add(code, "critical", node, f"{text}: {message}" if message not in text else text,
            evidence=ev, commands=cmds, specificity=31)
    return True


def _secret_expired(ctx: Ctx) -> bool:
    if not ctx.secret_pem:
        return False
    pems = split_pem(ctx.secret_pem)
    try:
        return bool(pems) and seconds_left(cert_info(pems[0]), ctx.now) <= 0
    except ValueError:
        return False


def _issuer_obj(ctx: Ctx, cert: Obj) -> tuple[str, str, Obj | None]:
    ref = as_dict(spec(cert).get("issuerRef"))
    kind = str(ref.get("kind") or "Issuer")
    name = str(ref.get("name") or "")
    ns = ns_of(cert) if kind == "Issuer" else ""
    return kind, name, ctx.idx.get(kind, ns, name)


def _issuer(ctx: Ctx, cert: Obj) -> bool:
    kind, name, issuer = _issuer_obj(ctx, cert)
    ref = as_dict(spec(cert).get("issuerRef"))
    group = ref.get("group")
    if group not in (None, "", "cert-manager.io"):
        return True  # external issuer: its own conditions are out of scope
    where = f"{kind} {ns_of(cert) + '/' if kind == 'Issuer' else ''}{name}"
    if issuer is None:
        if not ctx.idx.was_read(kind):
            return True
        ctx.add(
            "cert-issuer-not-ready",
            "critical",
            "certificate",
            f"Certificate {ns_of(cert)}/{name_of(cert)} refers to {where}, which does not exist",
            evidence={"issuerRef": ref},
            commands=[f"kubectl get {kind.lower()}s -A" if kind == "Issuer" else "kubectl get clusterissuers"],
            specificity=30,
        )
        return False
    rc = condition(status(issuer).get("conditions"), "Ready")
    if rc is not None and rc.get("status") == "True":
        return True
    ready = (condition(status(cert).get("conditions"), "Ready") or {}).get("status") == "True"
    ctx.add(
        "cert-issuer-not-ready",
        "critical" if not ready else "warning",
        "certificate",
        f"{where} is not Ready ({(rc or {}).get('reason', 'no Ready condition')}: {(rc or {}).get('message', '')})",
        evidence={"issuer": where, "ready": rc, "acme_server": as_dict(spec(issuer).get("acme")).get("server")},
        commands=[cmd.describe(kind.lower(), ns_of(issuer), name)],
        specificity=30 if not ready else 10,
    )
    return False


def _solvers(issuer: Obj) -> list[dict[str, Any]]:
    return [s for s in as_list(as_dict(spec(issuer).get("acme")).get("solvers")) if isinstance(s, dict)]


def _solver_selects(solver: dict[str, Any], domain: str, cert: Obj) -> bool:
    sel = solver.get("selector")
    if not isinstance(sel, dict) or not sel:
        return True
    d = domain.lower().lstrip("*.") if domain.startswith("*.") else domain.lower()
    names = [str(n).lower() for n in as_list(sel.get("dnsNames"))]
    zones = [str(z).lower().rstrip(".") for z in as_list(sel.get("dnsZones"))]
    match_labels = as_dict(sel.get("matchLabels"))
    if match_labels:
        labs = as_dict(meta(cert).get("labels"))
        if any(labs.get(k) != v for k, v in match_labels.items()):
            return False
    if not names and not zones:
        return True
    if domain.lower() in names:
        return True
    return any(d == z or d.endswith("." + z) for z in zones)


def _solver_selection(ctx: Ctx, cert: Obj) -> None:
    kind, name, issuer = _issuer_obj(ctx, cert)
    if issuer is None or "acme" not in spec(issuer):
        return
    solvers = _solvers(issuer)
    if not solvers:
        return
    missing = [str(d) for d in as_list(spec(cert).get("dnsNames")) if not any(_solver_selects(s, str(d), cert) for s in solvers)]
    if not missing:
        return
    ready = (condition(status(cert).get("conditions"), "Ready") or {}).get("status") == "True"
    sels = [as_dict(s.get("selector")) for s in solvers]
    ctx.add(
        "cert-solver-no-match",
        "warning" if ready else "critical",
        "challenge",
        f"no solver of {kind} {name} selects {', '.join(missing)} (selectors: "
        + "; ".join(
            ", ".join(f"{k}={v}" for k, v in s.items()) or "none" for s in sels
        )
        + "); cert-manager cannot create Challenges for them",
        evidence={"issuer": f"{kind}/{name}", "domains_without_solver": missing, "selectors": sels},
        commands=[f"kubectl get {kind.lower()} {name} -o jsonpath='{{.spec.acme.solvers}}'" if kind == "ClusterIssuer"
                  else f"kubectl -n {ns_of(cert)} get issuer {name} -o jsonpath='{{.spec.acme.solvers}}'",
                  f"kubectl -n {ns_of(cert)} describe order"],
        specificity=33 if not ready else 10,
    )


def _v1160_bug(ctx: Ctx, cert: Obj, message: str | None) -> bool:
    cm = ctx.controller("cert-manager")
    if cm is None or cm.version != (1, 16, 0):
        return False
    kind, name, issuer = _issuer_obj(ctx, cert)
    if kind != "ClusterIssuer":
        return False
    secret_refs = []
    if issuer is not None:
        for s in _solvers(issuer):
            for prov in as_dict(s.get("dns01")).values():
                for key in ("apiTokenSecretRef", "apiKeySecretRef", "tokenSecretRef", "secretAccessKeySecretRef"):
                    r = as_dict(as_dict(prov).get(key))
                    if r.get("name"):
                        secret_refs.append(str(r["name"]))
    if not secret_refs and message is None:
        return False
    ctx.add(
        "cert-manager-v1160-issuer-namespace",
        "critical",
        "challenge",
        f"cert-manager v1.16.0 reads ClusterIssuer {name}'s solver Secret ({', '.join(secret_refs) or 'its credentials'}) "
        "from the wrong namespace (fixed in v1.16.1)" + (f": {message}" if message else ""),
        evidence={"cert_manager_version": "v1.16.0", "clusterissuer": name, "secret_refs": secret_refs, "message": message},
        commands=[cmd.logs(cm.namespace, cm.name, "cloudflare secret"), f"kubectl -n {cm.namespace} get deploy {cm.name} -o jsonpath='{{.spec.template.spec.containers[0].image}}'"],
        specificity=35,
    )
    return True


def _order_stuck(ctx: Ctx, cert: Obj, cr: Obj | None, order: Obj | None, messages: list[tuple[str, str, Obj]], base_cmds: list[str]) -> None:
    if order is not None:
        ost = status(order)
        state = str(ost.get("state") or "pending")
        age = ctx.minutes_since(meta(order).get("creationTimestamp"))
        failed = state in ("invalid", "errored", "expired")
        if state == "valid":
            return
        if failed or (age is not None and age >= ORDER_STUCK_THRESHOLD_MIN):
            last = messages[-1][1] if messages else ""
            ctx.add(
                "cert-order-stuck",
                "critical",
                "order",
                f"Order {ns_of(order)}/{name_of(order)} is {state}"
                + (f" for {age:.0f} min" if age is not None else "")
                + (f"; last error: {last}" if last else "; no more specific cause is recorded"),
                evidence={"order": f"{ns_of(order)}/{name_of(order)}", "state": state, "age_minutes": round(age, 1) if age else None,
                          "message": last or None, "notes": ctx.notes or None},
                commands=[cmd.describe("order", ns_of(order), name_of(order))] + base_cmds,
                specificity=21,
            )
        return
    if cr is not None:
        crready = condition(status(cr).get("conditions"), "Ready") or {}
        age = ctx.minutes_since(meta(cr).get("creationTimestamp"))
        if crready.get("reason") in ("Failed", "Denied") or (age is not None and age >= ORDER_STUCK_THRESHOLD_MIN):
            ctx.add(
                "cert-order-stuck",
                "critical",
                "certificate-request",
                f"CertificateRequest {ns_of(cr)}/{name_of(cr)} is {crready.get('reason', 'pending')}: {crready.get('message', '')}",
                evidence={"request": f"{ns_of(cr)}/{name_of(cr)}", "ready": crready, "notes": ctx.notes or None},
                commands=[cmd.describe("certificaterequest", ns_of(cr), name_of(cr))] + base_cmds,
                specificity=21,
            )


def _renewal(ctx: Ctx, cert: Obj) -> None:
    """A Ready certificate whose renewal is overdue and failing."""
    st = status(cert)
    renewal = parse_time(st.get("renewalTime"))
    issuing = condition(st.get("conditions"), "Issuing") or {}
    failing = issuing.get("status") == "False" and issuing.get("reason") not in (None, "Issued") or bool(st.get("lastFailureTime"))
    if renewal is not None and ctx.now > renewal + timedelta(hours=1) and failing:
        ctx.notes.append(
            f"Certificate {ns_of(cert)}/{name_of(cert)} renewal was due at {st.get('renewalTime')} and is failing"
            f" ({issuing.get('reason')}: {issuing.get('message', '')})"
        )


def renew_window(cert: Obj | None, info: dict[str, Any]) -> timedelta:
    if cert is not None:
        rb = spec(cert).get("renewBefore")
        if isinstance(rb, str):
            td = parse_duration(rb)
            if td:
                return max(td, DEFAULT_RENEW_WINDOW)
    return DEFAULT_RENEW_WINDOW


def parse_duration(text: str) -> timedelta | None:
    import re

    total = 0.0
    matched = False
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)(h|m|s)", text):
        matched = True
        total += float(num) * {"h": 3600, "m": 60, "s": 1}[unit]
    return timedelta(seconds=total) if matched else None


def _stored_certificate(ctx: Ctx, sref: str, pem: str, cert: Obj | None) -> None:
    pems = split_pem(pem)
    try:
        info = cert_info(pems[0])
    except ValueError as e:
        ctx.set_node("secret", "fail", f"Secret {sref}: tls.crt is not a valid certificate ({e})")
        return
    left = seconds_left(info, ctx.now)
    details = {
        "secret": sref,
        "issuer": info["issuer_text"],
        "sans": info["sans"],
        "serial": info["serial"],
        "not_after": info["not_after"],
    }
    problems = []
    sev_status = "pass"
    if info["staging"]:
        problems.append("issued by Let's Encrypt STAGING")
        ctx.add(
            "cert-staging-issuer",
            "warning",
            "secret",
            f"Secret {sref} holds a certificate from Let's Encrypt staging ({info['issuer_text']}); browsers do not trust it",
            evidence={**details, "issuerRef": spec(cert).get("issuerRef") if cert else None},
            commands=[f"kubectl -n {sref.split('/')[0]} get secret {sref.split('/')[1]} -o jsonpath='{{.data.tls\\.crt}}' | base64 -d | openssl x509 -noout -issuer"],
            specificity=25,
        )
        sev_status = "warn"
    if not sans_cover(info["sans"], ctx.host):
        problems.append(f"SANs {', '.join(info['sans'])} do not cover {ctx.host}")
        ctx.add(
            "cert-san-mismatch",
            "critical",
            "secret",
            f"the certificate in Secret {sref} covers {', '.join(info['sans']) or 'no DNS names'}, not {ctx.host}"
            + (" (a wildcard covers exactly one label)" if any(s.startswith("*.") and ctx.host.endswith(s[1:]) and not san_covers(s, ctx.host) for s in info["sans"]) else ""),
            evidence=details,
            commands=[f"kubectl -n {sref.split('/')[0]} get secret {sref.split('/')[1]} -o jsonpath='{{.data.tls\\.crt}}' | base64 -d | openssl x509 -noout -ext subjectAltName"],
            specificity=26,
        )
        sev_status = "fail"
    if left <= 0:
        problems.append(f"expired at {info['not_after']}")
        ctx.add(
            "cert-expired",
            "critical",
            "secret",
            f"the certificate in Secret {sref} expired at {info['not_after']}",
            evidence=details,
            commands=[cmd.cmctl_status(ns_of(cert), name_of(cert))] if cert else [],
            specificity=24,
        )
        sev_status = "fail"
    else:
        window = renew_window(cert, info)
        if timedelta(seconds=left) <= window and _renewal_failing(ctx, cert):
            days = left / 86400
            problems.append(f"expires in {days:.1f} days and renewal is not succeeding")
            ctx.add(
                "cert-expiring",
                "warning",
                "secret",
                f"the certificate in Secret {sref} expires in {days:.1f} days ({info['not_after']}) and renewal is not succeeding",
                evidence={**details, "days_left": round(days, 1), "notes": ctx.notes or None},
                commands=[cmd.cmctl_status(ns_of(cert), name_of(cert))] if cert else [],
                specificity=22,
            )
            if sev_status == "pass":
                sev_status = "warn"
    ctx.set_node("secret", sev_status, f"Secret {sref}: " + ("; ".join(problems) if problems else
                 f"{info['issuer_text']}, valid until {info['not_after']}"), **details)


def _renewal_failing(ctx: Ctx, cert: Obj | None) -> bool:
    if cert is None:
        return True  # nothing renews it
    st = status(cert)
    ready = (condition(st.get("conditions"), "Ready") or {}).get("status") == "True"
    issuing = condition(st.get("conditions"), "Issuing") or {}
    if not ready or st.get("lastFailureTime") or (issuing.get("status") == "False" and issuing.get("reason") not in (None, "Issued")):
        return True
    renewal = parse_time(st.get("renewalTime"))
    if renewal is not None and ctx.now > renewal + timedelta(hours=1):
        return True
    return any(f.code == "cert-manager-down" for f in ctx.findings)
