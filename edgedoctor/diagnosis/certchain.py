"""The cert-manager chain of one Certificate: CertificateRequest (current and next
revision) -> Order -> Challenges, by owner references, and the root cause named by
the deepest failure message."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from edgedoctor.diagnosis import commands as cmd
from edgedoctor.diagnosis.acme_errors import classify, cloudflare_cleanup_bug_affected
from edgedoctor.diagnosis.context import Ctx
from edgedoctor.diagnosis.controllers import fmt_version
from edgedoctor.diagnosis.findings import set_severity
from edgedoctor.diagnosis.hostnames import sans_cover
from edgedoctor.diagnosis.index import (
    Obj,
    annotations_of,
    as_list,
    condition,
    meta,
    name_of,
    ns_of,
    spec,
    status,
)
from edgedoctor.diagnosis.issuers import issuer_ready, solver_selection, v1160_bug
from edgedoctor.diagnosis.storedcert import secret_expired
from edgedoctor.model import Status
from edgedoctor.timefmt import parse_rfc3339

CHAIN_NODES = ("certificate", "certificate-request", "order", "challenge")
PROPAGATION_THRESHOLD_MIN = 10.0
ORDER_STUCK_THRESHOLD_MIN = 30.0


def skip_chain(ctx: Ctx, reason: str, nodes: tuple[str, ...] = CHAIN_NODES) -> None:
    for n in nodes:
        if n not in ctx.nodes:
            ctx.set_node(n, "skip", reason)


def _rev(obj: Obj) -> int | None:
    v = annotations_of(obj).get("cert-manager.io/certificate-revision")
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
            if annotations_of(c).get("cert-manager.io/certificate-name") == name_of(cert)
        ]
    return crs


Messages = list[tuple[str, str, Obj]]  # (node, message, object), deepest last


def walk_chain(ctx: Ctx, cert: Obj, secret_missing: bool) -> None:
    """The Certificate's chain down to its Challenges: a node for each, and the cause of a
    failed issuance (or of a blocked renewal) named by the deepest failure message."""
    cns, cname = ns_of(cert), name_of(cert)
    st = status(cert)
    ready = condition(st.get("conditions"), "Ready") or {}
    issuing = condition(st.get("conditions"), "Issuing") or {}
    is_ready = ready.get("status") == "True"
    base_cmds = [cmd.cmctl_status(cns, cname), cmd.describe("certificate", cns, cname)]
    _certificate_node(ctx, cert, ready, issuing)
    _names_cover_host(ctx, cert)
    issuer_ok = issuer_ready(ctx, cert)
    solver_selection(ctx, cert)

    cr, current, next_rev = _pick_requests(ctx, cert, is_ready)
    show = cr or current
    messages: Messages = []
    if issuing.get("message"):
        messages.append(("certificate", str(issuing.get("message")), cert))
    if not is_ready and ready.get("message"):
        messages.append(("certificate", str(ready.get("message")), cert))
    order: Obj | None = None
    challenges: list[Obj] = []
    if show is None:
        ctx.set_node("certificate-request", "skip" if is_ready else "fail",
                     "no CertificateRequest" + ("" if is_ready else " for the next revision: cert-manager has not started issuing"))
        skip_chain(ctx, "no CertificateRequest", ("order", "challenge"))
    else:
        label = "next revision" if show is cr and cr is not None and _rev(show) == next_rev else "current revision"
        _request_node(ctx, show, label, current, messages)
        order, challenges = _order_and_challenges(ctx, show, messages)
    ctx.challenges = challenges

    if is_ready and not secret_missing:
        _renewal(ctx, cert)
        if issuing.get("status") == "True" or (cr is not None and cr is not current):
            _renewal_blocked(ctx, cert, messages, base_cmds)
        return
    # Not Ready: name the deeper cause, deepest message first.
    for node, message, obj in reversed(messages):
        if _emit_classified(ctx, node, message, obj, cert, base_cmds):
            return
    if v1160_bug(ctx, cert, None):
        return
    if not issuer_ok:
        return
    if any(f.code in ("cert-solver-no-match", "cert-manager-down") for f in ctx.findings):
        return
    _order_stuck(ctx, cert, show, order, messages, base_cmds)


def _certificate_node(ctx: Ctx, cert: Obj, ready: dict[str, Any], issuing: dict[str, Any]) -> None:
    st = status(cert)
    is_ready = ready.get("status") == "True"
    ctx.set_node(
        "certificate",
        "pass" if is_ready else "fail",
        f"Certificate {ns_of(cert)}/{name_of(cert)} "
        + ("Ready" if is_ready else f"not Ready ({ready.get('reason', 'no condition')}: {ready.get('message', '')})"),
        certificate=f"{ns_of(cert)}/{name_of(cert)}",
        dnsNames=as_list(spec(cert).get("dnsNames")),
        issuerRef=spec(cert).get("issuerRef"),
        ready=ready or None,
        issuing=issuing or None,
        notAfter=st.get("notAfter"),
        renewalTime=st.get("renewalTime"),
        revision=st.get("revision"),
        failedIssuanceAttempts=st.get("failedIssuanceAttempts"),
    )


def _names_cover_host(ctx: Ctx, cert: Obj) -> None:
    """The Certificate's names against the host (RFC 6125)."""
    cns, cname = ns_of(cert), name_of(cert)
    dns_names = [str(n).lower() for n in as_list(spec(cert).get("dnsNames"))]
    if dns_names and not sans_cover(dns_names, ctx.host):
        ctx.add(
            "cert-san-mismatch",
            f"Certificate {cns}/{cname} names {', '.join(dns_names)}, which does not cover {ctx.host}"
            + (" (a wildcard covers exactly one label)" if any(n.startswith("*.") and ctx.host.endswith(n[1:]) for n in dns_names) else ""),
            node="certificate",
            evidence={"certificate": f"{cns}/{cname}", "dnsNames": dns_names, "host": ctx.host},
            commands=[f"kubectl -n {cns} get certificate {cname} -o jsonpath='{{.spec.dnsNames}}'"],
        )


def _pick_requests(ctx: Ctx, cert: Obj, is_ready: bool) -> tuple[Obj | None, Obj | None, int]:
    """The request to follow (the next revision's, or while not Ready the latest), the
    current revision's, and the number of the next revision."""
    st = status(cert)
    crs = _requests_for(ctx, cert)
    revision = st.get("revision") if isinstance(st.get("revision"), int) else None
    next_rev = (revision or 0) + 1
    nxt = [c for c in crs if _rev(c) == next_rev]
    cur = [c for c in crs if revision is not None and _rev(c) == revision]
    cr = _latest(nxt) or (None if is_ready else _latest(crs))
    return cr, _latest(cur), next_rev


def _request_node(ctx: Ctx, show: Obj, label: str, current: Obj | None, messages: Messages) -> None:
    crc = status(show).get("conditions")
    crready = condition(crc, "Ready") or {}
    cr_ok = crready.get("status") == "True"
    ctx.set_node(
        "certificate-request",
        "pass" if cr_ok else _request_status(ctx, show, crready),
        f"CertificateRequest {ns_of(show)}/{name_of(show)} ({label}) "
        + ("issued" if cr_ok else f"{crready.get('reason', 'pending')}: {crready.get('message', '')}"),
        request=f"{ns_of(show)}/{name_of(show)}",
        revision=_rev(show),
        ready=crready or None,
        current=f"{ns_of(current)}/{name_of(current)}" if current is not None and current is not show else None,
    )
    for c in (crready, condition(crc, "Denied"), condition(crc, "InvalidRequest")):
        if c and c.get("message") and not cr_ok:
            messages.append(("certificate-request", str(c.get("message")), show))


def _order_and_challenges(ctx: Ctx, request: Obj, messages: Messages) -> tuple[Obj | None, list[Obj]]:
    """The request's latest Order and that Order's Challenges, each with its node."""
    order = _latest(ctx.idx.owned_by(request, "Order") or _by_name_prefix(ctx, "Order", request))
    if order is None:
        ctx.set_node("order", "skip", "no Order (not an ACME issuer, or not created yet)")
        ctx.set_node("challenge", "skip", "no Order")
        return None, []
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
    challenges = ctx.idx.owned_by(order, "Challenge") or _by_name_prefix(ctx, "Challenge", order)
    if not challenges:
        ctx.set_node("challenge", "skip" if state == "valid" else "warn",
                     "no Challenges" + (" (deleted after the Order became valid)" if state == "valid" else ""))
    else:
        _challenges_node(ctx, challenges, messages)
    return order, challenges


def _challenges_node(ctx: Ctx, challenges: list[Obj], messages: Messages) -> None:
    items = []
    worst: Status = "pass"
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


def _renewal_blocked(ctx: Ctx, cert: Obj, messages: Messages, base_cmds: list[str]) -> None:
    """A renewal is in flight: name what blocks it, as a warning while the current
    certificate still works."""
    before = len(ctx.findings)
    for node, message, obj in reversed(messages):
        if _emit_classified(ctx, node, message, obj, cert, base_cmds):
            break
    expired = secret_expired(ctx)
    for f in ctx.findings[before:]:
        if not expired:
            set_severity(f, "warning")
            f.message += f" (renewal blocked; the current certificate is valid until {status(cert).get('notAfter', '?')})"


def _by_name_prefix(ctx: Ctx, kind: str, owner: Obj) -> list[Obj]:
    """Children of an owner when hand-written objects carry no ownerReferences:
    cert-manager names an Order `<request>-<hash>` and a Challenge `<order>-<hash>`."""
    prefix = name_of(owner) + "-"
    out = []
    for o in ctx.idx.in_namespace(kind, ns_of(owner)):
        if meta(o).get("ownerReferences"):
            continue
        rest = name_of(o)[len(prefix):]
        if name_of(o).startswith(prefix) and rest.isdigit():
            out.append(o)
    return out


def _request_status(ctx: Ctx, cr: Obj, ready: dict[str, Any]) -> Status:
    """A request pending for a few minutes is issuance at work, not a failure."""
    if ready.get("reason") in ("Failed", "Denied"):
        return "fail"
    age = ctx.age_minutes(cr)
    return "warn" if age is not None and age < ORDER_STUCK_THRESHOLD_MIN else "fail"


def _is_error_text(text: str) -> bool:
    low = text.lower()
    return any(w in low for w in ("error", "failed", "invalid", "forbidden", "not found", "unauthorized"))


def _emit_classified(ctx: Ctx, node: str, message: str, obj: Obj, cert: Obj, base_cmds: list[str]) -> bool:
    """Report the cause a failure message names (False when it names none, or it is
    not a fault here)."""
    c = classify(message)
    if c is None:
        return False
    oref = f"{obj.get('kind')} {ns_of(obj)}/{name_of(obj)}"
    ev: dict[str, Any] = {"object": oref, "message": message, **c.detail}
    cmds = list(base_cmds)
    if obj.get("kind") in ("Challenge", "Order"):
        cmds.insert(0, cmd.describe(str(obj.get("kind")).lower(), ns_of(obj), name_of(obj)))
    code = c.code
    if code == "cert-cloudflare-7003-cleanup":
        return _cloudflare_cleanup_bug(ctx, node, oref, ev, cmds)
    if code == "cert-dns01-propagation-wait":
        return _propagation_wait(ctx, node, obj, oref, c.detail.get("validation") == "failed", ev, cmds)
    if code == "_cloudflare-secret-not-found":
        if v1160_bug(ctx, cert, message):
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
    else:  # pragma: no cover - classify() returns only the codes above
        text = f"{message} ({oref})"
    ctx.add(code, f"{text}: {message}" if message not in text else text, severity="critical", node=node, evidence=ev, commands=cmds)
    return True


def _cloudflare_cleanup_bug(ctx: Ctx, node: str, oref: str, ev: dict[str, Any], cmds: list[str]) -> bool:
    """cert-manager's empty-zone-id DELETE (Cloudflare error 7003), unless the running
    version has the fix."""
    cm = ctx.controller("cert-manager")
    version = cm.version if cm else None
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
        "cert-cloudflare-7003-cleanup",
        f"cert-manager {fmt_version(version)} cannot clean up the DNS-01 TXT record on Cloudflare "
        f"(empty zone id in DELETE /zones//dns_records/..., error 7003), so the Order never completes: {oref}"
        + ("" if affected else " (controller version unknown)"),
        severity="critical",
        node=node,
        evidence=ev,
        commands=cmds + ([cmd.logs(cm.namespace, cm.name, "dns_records")] if cm else []),
    )
    return True


def _propagation_wait(ctx: Ctx, node: str, obj: Obj, oref: str, validation_failed: bool,
                      ev: dict[str, Any], cmds: list[str]) -> bool:
    """The DNS-01 record was not found: by Let's Encrypt's validation (failed), or by
    cert-manager's self-check for longer than issuance takes (a short wait is no fault)."""
    name = spec(obj).get("dnsName")
    if validation_failed:
        text = (
            f"Let's Encrypt looked for the _acme-challenge TXT record of {name or 'the domain'} and did not "
            f"find it (or found another value): the record was not at the zone's authoritative servers when "
            f"validation ran ({oref})"
        )
    else:
        waited = ctx.age_minutes(obj)
        if waited is not None and waited < PROPAGATION_THRESHOLD_MIN:
            ctx.notes.append(f"{oref} is waiting for DNS-01 propagation since {waited:.0f} min: issuance in progress")
            return False
        ev["waiting_minutes"] = round(waited, 1) if waited is not None else None
        text = (
            f"the DNS-01 self-check has waited {waited:.0f} min for the _acme-challenge TXT record of "
            f"{name} to appear at the zone's authoritative servers ({oref})"
            if waited is not None
            else f"the DNS-01 self-check is waiting for the _acme-challenge TXT record ({oref})"
        )
    if name:
        cmds.insert(0, cmd.dig(f"_acme-challenge.{name}", "TXT", options=("+trace",)))
    broken = ctx.secret is None or secret_expired(ctx)
    ctx.add("cert-dns01-propagation-wait", text, severity="critical" if broken else "warning", node=node,
            evidence=ev, commands=cmds)
    return True



def _order_stuck(ctx: Ctx, cert: Obj, cr: Obj | None, order: Obj | None, messages: list[tuple[str, str, Obj]], base_cmds: list[str]) -> None:
    if order is not None:
        ost = status(order)
        state = str(ost.get("state") or "pending")
        age = ctx.age_minutes(order)
        failed = state in ("invalid", "errored", "expired")
        if state == "valid":
            return
        if failed or (age is not None and age >= ORDER_STUCK_THRESHOLD_MIN):
            last = messages[-1][1] if messages else ""
            ctx.add(
                "cert-order-stuck",
                f"Order {ns_of(order)}/{name_of(order)} is {state}"
                + (f" for {age:.0f} min" if age is not None else "")
                + (f"; last error: {last}" if last else "; no more specific cause is recorded"),
                evidence={"order": f"{ns_of(order)}/{name_of(order)}", "state": state, "age_minutes": round(age, 1) if age else None,
                          "message": last or None, "notes": ctx.notes or None},
                commands=[cmd.describe("order", ns_of(order), name_of(order))] + base_cmds,
            )
        return
    if cr is not None:
        crready = condition(status(cr).get("conditions"), "Ready") or {}
        age = ctx.age_minutes(cr)
        if crready.get("reason") in ("Failed", "Denied") or (age is not None and age >= ORDER_STUCK_THRESHOLD_MIN):
            ctx.add(
                "cert-order-stuck",
                f"CertificateRequest {ns_of(cr)}/{name_of(cr)} is {crready.get('reason', 'pending')}: {crready.get('message', '')}",
                node="certificate-request",
                evidence={"request": f"{ns_of(cr)}/{name_of(cr)}", "ready": crready, "notes": ctx.notes or None},
                commands=[cmd.describe("certificaterequest", ns_of(cr), name_of(cr))] + base_cmds,
            )


def _renewal(ctx: Ctx, cert: Obj) -> None:
    """A Ready certificate whose renewal is overdue and failing."""
    st = status(cert)
    renewal = parse_rfc3339(st.get("renewalTime"))
    issuing = condition(st.get("conditions"), "Issuing") or {}
    failing = issuing.get("status") == "False" and issuing.get("reason") not in (None, "Issued") or bool(st.get("lastFailureTime"))
    if renewal is not None and ctx.now > renewal + timedelta(hours=1) and failing:
        ctx.notes.append(
            f"Certificate {ns_of(cert)}/{name_of(cert)} renewal was due at {st.get('renewalTime')} and is failing"
            f" ({issuing.get('reason')}: {issuing.get('message', '')})"
        )

