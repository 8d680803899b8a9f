"""Named reads and changes of the cert-manager playbooks: renew, clean up one
Certificate's stuck chain, upgrade the controller, switch issuer, fix the Secret
name, rotate the Cloudflare token.

Every object is found from the Certificate the diagnosis names, by owner
reference uid (Certificate -> CertificateRequest -> Order -> Challenge): another
Certificate's objects are never planned, even in the same namespace.
"""

from __future__ import annotations

import json
from typing import Any

from edgedoctor.diagnosis.acme_errors import cloudflare_cleanup_bug_affected
from edgedoctor.diagnosis.controllers import Controller, fmt_version, image_tag
from edgedoctor.diagnosis.index import (
    Obj,
    annotations_of,
    as_dict,
    as_list,
    condition,
    meta,
    name_of,
    ns_of,
    spec,
    status,
)
from edgedoctor.remedy import changes as C
from edgedoctor.remedy import gitops
from edgedoctor.remedy.context import Expansion, PlanContext, kref, obj_ref
from edgedoctor.remedy.errors import NotApplicable

STUCK_MINUTES = 30.0  # as the diagnosis: an Order pending this long is stuck
FAILED_ORDER_STATES = ("invalid", "errored", "expired")
FINAL_CHALLENGE_STATES = ("valid", "invalid", "errored", "expired")
RENEW_CONDITION = {
    "type": "Issuing",
    "status": "True",
    "reason": "ManuallyTriggered",
    "message": "Certificate re-issuance manually triggered",
}
CLEANUP_ERROR_MARKS = ("error cleaning up", "cleaning up challenge", "/zones//dns_records/", "7003", "cleanuperror")


# ---------------------------------------------------------------- shared lookups


def certificate(pc: PlanContext) -> Obj:
    cert = pc.ctx.certificate
    if cert is None:
        where = f"Secret {pc.ctx.secret_ref[0]}/{pc.ctx.secret_ref[1]}" if pc.ctx.secret_ref else "the listener's Secret"
        raise NotApplicable(f"no cert-manager Certificate writes {where} for {pc.host}: nothing to act on")
    return cert


def cond_of(obj: Obj, type_: str) -> dict[str, Any]:
    return condition(status(obj).get("conditions"), type_) or {}


def age_minutes(pc: PlanContext, obj: Obj) -> float | None:
    return pc.ctx.age_minutes(obj)


def _age_text(m: float | None) -> str:
    if m is None:
        return "for an unknown time"
    if m >= 120:
        return f"for {m / 60:.0f} h"
    return f"for {m:.0f} min"


def requests_of(pc: PlanContext, cert: Obj) -> list[Obj]:
    return sorted(pc.idx.owned_by(cert, "CertificateRequest"), key=lambda o: str(meta(o).get("creationTimestamp") or ""))


def orders_of(pc: PlanContext, cr: Obj) -> list[Obj]:
    return sorted(pc.idx.owned_by(cr, "Order"), key=lambda o: str(meta(o).get("creationTimestamp") or ""))


def challenges_of(pc: PlanContext, order: Obj) -> list[Obj]:
    return sorted(pc.idx.owned_by(order, "Challenge"), key=name_of)


def cr_failed(cr: Obj) -> bool:
    ready = cond_of(cr, "Ready")
    return (ready.get("reason") in ("Failed", "Denied")
            or cond_of(cr, "Denied").get("status") == "True"
            or cond_of(cr, "InvalidRequest").get("status") == "True")


def cr_stuck(pc: PlanContext, cr: Obj) -> bool:
    if cond_of(cr, "Ready").get("status") == "True":
        return False
    if cr_failed(cr):
        return True
    age = age_minutes(pc, cr)
    return age is not None and age >= STUCK_MINUTES


def order_stuck(pc: PlanContext, order: Obj) -> bool:
    state = str(status(order).get("state") or "pending")
    if state == "valid":
        return False
    if state in FAILED_ORDER_STATES:
        return True
    age = age_minutes(pc, order)
    return age is not None and age >= STUCK_MINUTES


def cleanup_failing(ch: Obj) -> bool:
    reason = str(status(ch).get("reason") or "").lower()
    return any(m in reason for m in CLEANUP_ERROR_MARKS)


def cleanup_fails(ch: Obj) -> bool:
    """A Challenge whose cleanup (removing its TXT record) ran and failed.

    Cleanup runs only once a Challenge is finished (a final state) or deleted. cert-manager
    sets `processing` back to false after a successful cleanup and returns the cleanup error
    before doing so: a finished, presented Challenge still `processing` is one whose cleanup
    fails, whatever the solver's message (reference: cert-manager.md §3). A pending Challenge
    (waiting to be scheduled, `processing: false`) has had no cleanup at all.
    """
    st = status(ch)
    final = str(st.get("state") or "") in FINAL_CHALLENGE_STATES
    if not (final or meta(ch).get("deletionTimestamp")):
        return False
    if cleanup_failing(ch):
        return True
    return final and st.get("processing") is True and st.get("presented") is True


def cert_manager(pc: PlanContext) -> Controller | None:
    return pc.ctx.controller("cert-manager")


def _read(obj: Obj | None, kind: str, namespace: str | None, name: str, fields: list[str]) -> dict[str, Any]:
    return {"kind": kind, "namespace": namespace, "name": name, "fields": fields,
            "uid": meta(obj).get("uid") if obj else None}


def read_of(obj: Obj, fields: list[str]) -> dict[str, Any]:
    return _read(obj, str(obj.get("kind")), ns_of(obj) or None, name_of(obj), fields)


# ---------------------------------------------------------------- reads (what they read)


def read_certificate_issuing(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    cert = certificate(pc)
    issuing = cond_of(cert, "Issuing")
    if issuing.get("status") == "True":
        pc.notes.append(
            f"Issuing is already True on Certificate {ns_of(cert)}/{name_of(cert)} (reason {issuing.get('reason')}"
            f"{', since ' + str(issuing.get('lastTransitionTime')) if issuing.get('lastTransitionTime') else ''}): "
            "renew does nothing while an issuance is in progress; the next steps are deleting the current Order, "
            "then the latest CertificateRequest"
        )
    return [Expansion(target=obj_ref(cert), reads=[read_of(cert, ["status.conditions[type=Issuing]", "status.conditions[type=Ready]",
                                                                 "status.revision", "status.notAfter"])])]


def read_certificate_ready(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    cert = certificate(pc)
    return [Expansion(target=obj_ref(cert), reads=[read_of(cert, ["status.conditions[type=Ready]", "status.notAfter"])])]


def read_certificate_chain(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    cert = certificate(pc)
    reads = [read_of(cert, ["status.conditions[type=Ready]", "status.conditions[type=Issuing]", "status.revision"])]
    for cr in requests_of(pc, cert):
        reads.append(read_of(cr, ["metadata.annotations[\"cert-manager.io/certificate-revision\"]", "status.conditions[type=Ready]"]))
        for order in orders_of(pc, cr):
            reads.append(read_of(order, ["status.state", "status.reason"]))
            for ch in challenges_of(pc, order):
                reads.append(read_of(ch, ["spec.dnsName", "status.state", "status.processing", "status.presented",
                                          "status.reason", "metadata.finalizers", "metadata.deletionTimestamp"]))
    return [Expansion(target=obj_ref(cert), reads=reads)]


def read_cert_manager_version(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    cm = cert_manager(pc)
    if cm is None:
        pc.notes.append("no cert-manager controller Deployment was found in the cluster")
        return [Expansion(target=None, reads=[], explain="No cert-manager controller Deployment was read.")]
    return [Expansion(target=obj_ref(cm.deployment),
                      reads=[read_of(cm.deployment, ["spec.template.spec.containers[*].image", "status.availableReplicas"])],
                      values={"cert_manager_namespace": cm.namespace, "cert_manager_deployment": cm.name})]


def read_issuer_ref(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    cert = certificate(pc)
    reads = [read_of(cert, ["spec.issuerRef", "spec.secretName"])]
    kind, name, issuer = issuer_of(pc, cert)
    if issuer is not None:
        reads.append(read_of(issuer, ["spec.acme.server", "spec.acme.solvers", "status.conditions[type=Ready]"]))
    return [Expansion(target=obj_ref(cert), reads=reads)]


def read_listener_refs(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    ctx = pc.ctx
    if ctx.gateway is None or ctx.listener is None:
        raise NotApplicable(f"no Gateway listener serves {pc.host}")
    reads = [read_of(ctx.gateway, [f"spec.listeners[name={ctx.listener.name}].tls.certificateRefs"])]
    f = pc.finding("cert-secret-name-mismatch")
    cref = str((f.evidence if f else {}).get("certificate") or "")
    if "/" in cref:
        cns, cname = cref.split("/", 1)
        c = pc.idx.get("Certificate", cns, cname)
        if c is not None:
            reads.append(read_of(c, ["spec.secretName", "spec.dnsNames", "status.conditions[type=Ready]"]))
    return [Expansion(target=obj_ref(ctx.gateway), reads=reads)]


def read_issuer_token(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    cert = certificate(pc)
    kind, name, issuer = issuer_of(pc, cert)
    if issuer is None:
        raise NotApplicable(f"the issuer {kind} {name} of Certificate {ns_of(cert)}/{name_of(cert)} was not found")
    reads = [read_of(issuer, ["spec.acme.solvers[*].dns01.cloudflare.apiTokenSecretRef"])]
    for sns, sname, _key in token_refs(pc, issuer):
        sec = pc.idx.get("Secret", sns, sname)
        reads.append(_read(sec, "Secret", sns, sname, ["metadata.name", "keys (values are never read)"]))
    return [Expansion(target=obj_ref(issuer), reads=reads)]


# ---------------------------------------------------------------- force renew


def renew_certificate(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    cert = certificate(pc)
    issuing = cond_of(cert, "Issuing")
    change = C.set_condition(cert, dict(RENEW_CONDITION))
    x = Expansion(target=obj_ref(cert), change=change,
                  command=f"cmctl renew -n {ns_of(cert)} {name_of(cert)}")
    if issuing.get("status") == "True":
        x.satisfied = (
            f"Issuing is already True (reason {issuing.get('reason')}): renew does nothing while an issuance "
            "is in progress; if it is stuck, delete the current Order, then the latest CertificateRequest"
        )
    cm = cert_manager(pc)
    if cm is None or not cm.available:
        pc.notes.append("cert-manager's controller is not running: nothing acts on a renewal until it runs again")
    return [x]


def _inflight(pc: PlanContext, cert: Obj) -> Obj | None:
    """The CertificateRequest of the issuance in progress (next revision, not Ready)."""
    rev = status(cert).get("revision")
    want = (rev if isinstance(rev, int) else 0) + 1
    crs = [c for c in requests_of(pc, cert) if cond_of(c, "Ready").get("status") != "True"]
    nxt = [c for c in crs if annotations_of(c).get("cert-manager.io/certificate-revision") == str(want)]
    pick = nxt or crs
    return pick[-1] if pick else None


def delete_inflight_order(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    cert = certificate(pc)
    if cond_of(cert, "Issuing").get("status") != "True":
        return []
    cr = _inflight(pc, cert)
    if cr is None:
        pc.notes.append(f"Issuing is True but Certificate {ns_of(cert)}/{name_of(cert)} has no CertificateRequest in "
                        "flight: cert-manager has not created one (is its controller running?)")
        return []
    out = []
    for order in orders_of(pc, cr):
        state = str(status(order).get("state") or "pending")
        if state == "valid":
            continue
        if not order_stuck(pc, order):
            pc.notes.append(f"Order {ns_of(order)}/{name_of(order)} is {state} {_age_text(age_minutes(pc, order))}: "
                            "issuance in progress, nothing to delete yet; run force-renew again if it stays")
            continue
        out.append(Expansion(
            target=obj_ref(order), change=C.delete(order), command=C.delete_command(order),
            explain=f"Order {name_of(order)} is {state} {_age_text(age_minutes(pc, order))}.",
        ))
    pc.memo["renew_orders"] = out
    return out


def delete_inflight_request(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    cert = certificate(pc)
    if cond_of(cert, "Issuing").get("status") != "True":
        return []
    cr = _inflight(pc, cert)
    if cr is None or not (cr_stuck(pc, cr) or pc.memo.get("renew_orders")):
        if cr is not None:
            pc.notes.append(f"CertificateRequest {ns_of(cr)}/{name_of(cr)} was created {_age_text(age_minutes(pc, cr))[4:]} ago: "
                            "give it time before deleting it")
        return []
    ready = cond_of(cr, "Ready")
    return [Expansion(target=obj_ref(cr), change=C.delete(cr), command=C.delete_command(cr),
                      explain=f"CertificateRequest {name_of(cr)}: {ready.get('reason', 'pending')}: {ready.get('message', '')}".rstrip(": "))]


# ---------------------------------------------------------------- cleanup of stuck orders


def _stuck_chain(pc: PlanContext, cert: Obj) -> tuple[list[Obj], list[Obj], list[Obj]]:
    """(requests, orders, challenges) of this Certificate that are failed or stuck."""
    if "stuck_chain" in pc.memo:
        return pc.memo["stuck_chain"]
    reqs: list[Obj] = []
    orders: list[Obj] = []
    chals: list[Obj] = []
    for cr in requests_of(pc, cert):
        if cond_of(cr, "Ready").get("status") == "True":
            continue
        crs_orders = [o for o in orders_of(pc, cr) if str(status(o).get("state") or "") != "valid"]
        stuck_orders = [o for o in crs_orders if order_stuck(pc, o)]
        if not cr_stuck(pc, cr) and not stuck_orders:
            age = age_minutes(pc, cr)
            pc.notes.append(f"CertificateRequest {ns_of(cr)}/{name_of(cr)} was created {_age_text(age)[4:]} ago and is "
                            "still in progress: left alone")
            continue
        reqs.append(cr)
        for o in crs_orders:
            orders.append(o)
            chals.extend(challenges_of(pc, o))
    pc.memo["stuck_chain"] = (reqs, orders, chals)
    if not reqs:
        pc.notes.append(f"nothing to clean up: Certificate {ns_of(cert)}/{name_of(cert)} has no failed or stuck "
                        "CertificateRequest, Order or Challenge")
    return reqs, orders, chals


def delete_stuck_orders(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    cert = certificate(pc)
    _reqs, orders, _ = _stuck_chain(pc, cert)
    out = []
    for o in orders:
        st = status(o)
        out.append(Expansion(
            target=obj_ref(o), change=C.delete(o), command=C.delete_command(o), label=name_of(o),
            explain=f"Order {name_of(o)}: state {st.get('state') or 'pending'} {_age_text(age_minutes(pc, o))}"
                    + (f", reason: {st.get('reason')}" if st.get("reason") else "")
                    + f"; owned by CertificateRequest {_owner_name(o)} of Certificate {name_of(cert)}.",
        ))
    return out


def delete_stuck_challenges(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    """The Challenges of the stuck Orders; `only: cleanup-fails` keeps those whose cleanup fails."""
    cert = certificate(pc)
    _reqs, _orders, chals = _stuck_chain(pc, cert)
    if params.get("only") == "cleanup-fails":
        left = [c for c in chals if not cleanup_fails(c)]
        chals = [c for c in chals if cleanup_fails(c)]
        if left:
            pc.notes.append("left alone (their cleanup has not failed): " + ", ".join(
                f"Challenge {name_of(c)} (state {status(c).get('state') or 'pending'}, "
                f"processing {status(c).get('processing')})" for c in left))
    out = []
    for ch in chals:
        st = status(ch)
        out.append(Expansion(
            target=obj_ref(ch), change=C.delete(ch), command=C.delete_command(ch), label=name_of(ch),
            explain=f"Challenge {name_of(ch)} for {spec(ch).get('dnsName')}{' (wildcard)' if spec(ch).get('wildcard') else ''}: "
                    f"state {st.get('state') or 'pending'}, processing {st.get('processing')}"
                    + (f", reason: {st.get('reason')}" if st.get("reason") else "") + ".",
        ))
    return out


def delete_stuck_requests(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    cert = certificate(pc)
    reqs, _orders, _ = _stuck_chain(pc, cert)
    out = []
    for cr in reqs:
        ready = cond_of(cr, "Ready")
        out.append(Expansion(
            target=obj_ref(cr), change=C.delete(cr), command=C.delete_command(cr), label=name_of(cr),
            explain=f"CertificateRequest {name_of(cr)} (revision {annotations_of(cr).get('cert-manager.io/certificate-revision', '?')}): "
                    f"{ready.get('reason', 'pending')}: {ready.get('message', '')}",
        ))
    return out


def _owner_name(obj: Obj) -> str:
    for o in as_list(meta(obj).get("ownerReferences")):
        if isinstance(o, dict) and o.get("controller"):
            return str(o.get("name"))
    return "?"


def remove_challenge_finalizers(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    cert = certificate(pc)
    _reqs, orders, chals = _stuck_chain(pc, cert)
    # Deleted Challenges of this Certificate that hang on their finalizer count too.
    seen = {name_of(c) for c in chals}
    for cr in requests_of(pc, cert):
        for o in orders_of(pc, cr):
            for ch in challenges_of(pc, o):
                if name_of(ch) not in seen and meta(ch).get("deletionTimestamp"):
                    chals.append(ch)
                    seen.add(name_of(ch))
    cm = cert_manager(pc)
    controller_gone = cm is None or not cm.available
    out = []
    for ch in chals:
        fins = [str(f) for f in as_list(meta(ch).get("finalizers"))]
        if not fins:
            continue
        failing = bool(meta(ch).get("deletionTimestamp")) and cleanup_failing(ch)
        if not (controller_gone or failing):
            continue
        why = ("cert-manager's controller is not running, so nothing removes the finalizer"
               if controller_gone else
               f"the Challenge was deleted at {meta(ch).get('deletionTimestamp')} and its cleanup keeps failing: "
               f"{status(ch).get('reason')}")
        body = {"metadata": {"finalizers": None}}
        ch_change = C.patch(ch, body)
        out.append(Expansion(
            target=obj_ref(ch), change=ch_change, command=C.patch_command(ch_change), label=name_of(ch),
            explain=f"{why}. Finalizers now: {', '.join(fins)}. Removing them skips cert-manager's DNS cleanup: "
                    f"the TXT record _acme-challenge.{spec(ch).get('dnsName')} stays in the zone (next step).",
        ))
        pc.memo["txt_names"] = sorted(set(pc.memo.get("txt_names", [])) | {f"_acme-challenge.{spec(ch).get('dnsName')}"})
    if not out and chals:
        pc.notes.append("Challenge finalizers are left alone: cert-manager's controller runs and no deleted Challenge "
                        "reports a failing cleanup, so it removes them itself")
    return out


def read_leaked_txt(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    """The _acme-challenge TXT records that may be left in the zone (no DNS query: names and values)."""
    cert = certificate(pc)
    _reqs, _orders, chals = _stuck_chain(pc, cert)
    names = set(pc.memo.get("txt_names", []))
    if params.get("always") or any(cleanup_failing(c) for c in chals):
        names |= {f"_acme-challenge.{spec(c).get('dnsName')}" for c in chals if spec(c).get("dnsName")}
    if not names:
        return []
    names_sorted = sorted(names)
    values = sorted({str(spec(c).get("key")) for c in chals if spec(c).get("key")})
    auth = ""
    for s in as_list((pc.ev.dns or {}).get("authoritative_servers")):
        if isinstance(s, dict) and s.get("address"):
            auth = f" @{str(s['address']).split(':')[0]}"
            break
    zone = pc.values.get("zone") or _zone_guess(names_sorted[0])
    cmd = "\n".join(
        [f"dig +short TXT {n}{auth}" for n in names_sorted]
        + ["# Cloudflare API (token in $CF_API_TOKEN, zone id from the dashboard's Overview page):",
           *[f"curl -s -H \"Authorization: Bearer $CF_API_TOKEN\" "
             f"\"https://api.cloudflare.com/client/v4/zones/$ZONE_ID/dns_records?type=TXT&name={n}\"" for n in names_sorted]]
    )
    # A read step hands over reading commands only: the deletion is described, never offered to copy.
    explain = (
        f"Records that may have leaked in zone {zone}: {', '.join(names_sorted)}"
        + (f"; values cert-manager wrote: {', '.join(values)}" if values else "")
        + ". Delete only TXT records with those values (another issuance may use the same name): in the "
        "Cloudflare dashboard under DNS > Records, filter on _acme-challenge, or through the API "
        "(the listing shown gives each record's id; a DELETE of /zones/<zone id>/dns_records/<record id> removes it: "
        "a change, made by hand, not by this step)."
    )
    pc.memo["txt_names"] = names_sorted
    reads = [read_of(c, ["spec.dnsName", "spec.key", "status.presented"]) for c in chals]
    return [Expansion(target=f"DNS zone {zone}", reads=reads, command=cmd, explain=explain,
                      values={"txt_names": ", ".join(names_sorted)})]


def delete_leaked_txt(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    """The deletion of the leaked TXT records: a change, made by hand in the DNS provider.

    The read step before lists them (reading commands only); this step carries the
    deleting call, marked as a change and never run by edgedoctor.
    """
    names = list(pc.memo.get("txt_names") or [])
    if not names:
        return []
    zone = pc.values.get("zone") or _zone_guess(names[0])
    change = {"op": "manual", "kind": "DNS TXT record", "namespace": None, "name": ", ".join(names),
              "body": {"zone": zone, "names": names}, "fields": [f"zone {zone}: {n} TXT" for n in names], "access": []}
    cmd = ("# for each record id the listing of the step before returned (only records with cert-manager's values):\n"
           "curl -s -X DELETE -H \"Authorization: Bearer $CF_API_TOKEN\" "
           "\"https://api.cloudflare.com/client/v4/zones/$ZONE_ID/dns_records/$RECORD_ID\"")
    return [Expansion(target=f"DNS zone {zone}", change=change, command=cmd,
                      blocked="a change in the DNS provider: made by hand (dashboard or API), not by edgedoctor",
                      explain=f"Deletes {', '.join(names)} in zone {zone}. Delete only the TXT records whose value "
                              "cert-manager wrote: another issuance may be using the same name.")]


def _zone_guess(name: str) -> str:
    labels = name.split(".")
    return ".".join(labels[-2:]) if len(labels) >= 2 else name


# ---------------------------------------------------------------- controller upgrade (shown, never made live)


FIXED = {
    (1, 12): (1, 12, 16),
    (1, 16): (1, 16, 4),
    (1, 17): (1, 17, 1),
}


def cloudflare_fix_target(version: tuple[int, int, int] | None) -> tuple[int, int, int]:
    if version is not None and version[:2] in FIXED:
        return FIXED[version[:2]]
    return (1, 18, 0)


def v1160_fix_target(version: tuple[int, int, int] | None) -> tuple[int, int, int]:
    # v1.16.1 fixes the Secret namespace; v1.16.4 also has the Cloudflare cleanup fix,
    # which every Cloudflare user needs since January 2025.
    return (1, 16, 4)


def fixed_for(issue: str, version: tuple[int, int, int] | None) -> bool | None:
    if version is None:
        return None
    if issue == "v1160":
        return version != (1, 16, 0)
    affected = cloudflare_cleanup_bug_affected(version)
    return None if affected is None else not affected


def upgrade_cert_manager(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    issue = str(params.get("issue") or "cloudflare")
    cm = cert_manager(pc)
    if cm is None:
        raise NotApplicable("no cert-manager controller Deployment was found: nothing to upgrade")
    target = cloudflare_fix_target(cm.version) if issue == "cloudflare" else v1160_fix_target(cm.version)
    tv = fmt_version(target)
    fixed = fixed_for(issue, cm.version)
    dep = cm.deployment
    container = next((c for c in as_list(as_dict(as_dict(spec(dep).get("template")).get("spec")).get("containers"))
                      if isinstance(c, dict) and c.get("image") == cm.image), {})
    new_image = cm.image.rsplit(":", 1)[0] + ":" + tv if image_tag(cm.image) else cm.image + ":" + tv
    change = C.manual(dep, [f"spec.template.spec.containers[name={container.get('name', 'cert-manager-controller')}].image"],
                      {"image": new_image, "chart_version": tv})
    values = {"target_version": tv, "current_version": fmt_version(cm.version), "cert_manager_namespace": cm.namespace}
    msg, snippet, command = _upgrade_instructions(dep, cm, tv)
    x = Expansion(target=obj_ref(dep), change=change, values=values, command=command,
                  gitops=msg, git_snippet=snippet,
                  explain=f"cert-manager runs {fmt_version(cm.version)} ({cm.image}); the fix is in {tv}"
                          + (" and later." if issue == "cloudflare" else " (v1.16.1 fixes the Secret namespace; v1.16.4 also the Cloudflare cleanup).")
                          + " Read the upgrade notes of every minor release in between before upgrading.")
    if fixed:
        x.satisfied = f"cert-manager {fmt_version(cm.version)} already has the fix"
    elif fixed is None:
        x.blocked = f"the controller version is unknown ({cm.image}): check it by hand, then upgrade to {tv} or later"
    else:
        x.blocked = ("a controller upgrade is a Helm/GitOps change: edgedoctor shows it and does not make it live "
                     "(the chart also updates CRDs and RBAC, and the owner would revert a patched image)")
    return [x]


def _upgrade_instructions(dep: Obj, cm: Controller, tv: str) -> tuple[str, str, str]:
    found = gitops.owners(dep)
    flux = next((o for o in found if o.tool == "flux-helmrelease"), None)
    argo = next((o for o in found if o.tool == "argocd"), None)
    helm = next((o for o in found if o.tool == "helm"), None)
    if flux is not None:
        snippet = gitops.to_yaml({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": flux.name, **({"namespace": flux.namespace} if flux.namespace else {})},
            "spec": {"chart": {"spec": {"version": tv}}},
        })
        return (f"cert-manager is installed by {flux.text}: set spec.chart.spec.version to {tv} in Git and let Flux upgrade it",
                snippet, f"flux reconcile helmrelease {flux.name} -n {flux.namespace or 'flux-system'} --with-source   # after the commit")
    if argo is not None:
        snippet = gitops.to_yaml({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": argo.name, "namespace": "argocd"},
            "spec": {"source": {"chart": "cert-manager", "repoURL": "https://charts.jetstack.io", "targetRevision": tv}},
        })
        return (f"cert-manager is managed by {argo.text}: set the Application's spec.source.targetRevision to {tv} in Git",
                snippet, f"argocd app sync {argo.name}   # after the commit")
    if helm is not None:
        cmd = f"helm upgrade {helm.name} jetstack/cert-manager -n {cm.namespace} --version {tv} --reuse-values"
        return (f"cert-manager is installed by {helm.text}: upgrade the release (CRDs as your install does them)",
                "", "helm repo update jetstack\n" + cmd)
    cmd = f"kubectl apply -f https://github.com/cert-manager/cert-manager/releases/download/{tv}/cert-manager.yaml"
    return ("cert-manager was installed from static manifests: apply the manifests of the fixed release",
            "", cmd)


# ---------------------------------------------------------------- switch to the production issuer


def issuer_of(pc: PlanContext, cert: Obj) -> tuple[str, str, Obj | None]:
    ref = as_dict(spec(cert).get("issuerRef"))
    kind = str(ref.get("kind") or "Issuer")
    name = str(ref.get("name") or "")
    ns = ns_of(cert) if kind == "Issuer" else ""
    return kind, name, pc.idx.get(kind, ns, name)


def acme_server(issuer: Obj | None) -> str:
    return str(as_dict(spec(issuer).get("acme")).get("server") or "") if issuer else ""


def is_staging(issuer: Obj | None) -> bool:
    return "staging" in acme_server(issuer)


def is_production(issuer: Obj | None) -> bool:
    return "acme-v02.api.letsencrypt.org" in acme_server(issuer)


def _solvers_key(issuer: Obj) -> str:
    return json.dumps(as_list(as_dict(spec(issuer).get("acme")).get("solvers")), sort_keys=True)


def production_twin(pc: PlanContext, staging: Obj) -> Obj | None:
    kind = str(staging.get("kind"))
    cands = [i for i in pc.idx.all(kind)
             if is_production(i) and (kind == "ClusterIssuer" or ns_of(i) == ns_of(staging))
             and _solvers_key(i) == _solvers_key(staging)]
    cands.sort(key=lambda i: (cond_of(i, "Ready").get("status") != "True", name_of(i)))
    return cands[0] if cands else None


def _shim_owner(pc: PlanContext, cert: Obj) -> Obj | None:
    """The Gateway whose annotation makes cert-manager's gateway-shim own this Certificate."""
    for o in as_list(meta(cert).get("ownerReferences")):
        if isinstance(o, dict) and o.get("controller") and o.get("kind") == "Gateway":
            return pc.idx.get("Gateway", ns_of(cert), str(o.get("name")))
    return None


def switch_issuer(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    cert = certificate(pc)
    kind, name, cur = issuer_of(pc, cert)
    if cur is None:
        raise NotApplicable(f"the Certificate's issuer {kind} {name} was not found")
    if not is_staging(cur):
        return [Expansion(target=obj_ref(cert), satisfied=f"Certificate {name_of(cert)} already uses {kind} {name} "
                          f"({acme_server(cur) or 'not ACME'})")]
    prod = production_twin(pc, cur)
    values = {"staging_issuer": name}
    if prod is None:
        twin = {
            "apiVersion": "cert-manager.io/v1", "kind": kind,
            "metadata": {"name": name.replace("staging", "prod") if "staging" in name else f"{name}-prod",
                         **({"namespace": ns_of(cur)} if kind == "Issuer" else {})},
            "spec": {"acme": {**as_dict(spec(cur).get("acme")),
                              "server": "https://acme-v02.api.letsencrypt.org/directory",
                              "privateKeySecretRef": {"name": "letsencrypt-prod-account-key"}}},
        }
        return [Expansion(target=obj_ref(cert), values=values,
                          change=C.patch(cert, {"spec": {"issuerRef": {"name": twin["metadata"]["name"]}}}),
                          blocked=f"no production {kind} with the same solvers as {name} exists; create it first "
                                  "(the snippet), then run this playbook again",
                          git_snippet=gitops.to_yaml(twin))]
    pname = name_of(prod)
    values["production_issuer"] = pname
    pc.memo["production_issuer"] = pname
    shim = _shim_owner(pc, cert)
    if shim is not None:
        key = "cert-manager.io/cluster-issuer" if kind == "ClusterIssuer" else "cert-manager.io/issuer"
        body = {"metadata": {"annotations": {key: pname}}}
        change = C.patch(shim, body)
        msg, snip = gitops.note(shim, snippet=gitops.fragment(shim, body))
        x = Expansion(target=obj_ref(shim), change=change, command=C.patch_command(change), values=values,
                      gitops=msg, git_snippet=snip,
                      explain=f"Certificate {name_of(cert)} is made by cert-manager's gateway-shim from Gateway "
                              f"{name_of(shim)}: its {key} annotation names the issuer, and a direct edit of the "
                              "Certificate would be undone.")
    else:
        body = {"spec": {"issuerRef": {"name": pname, "kind": kind, "group": "cert-manager.io"}}}
        change = C.patch(cert, body)
        msg, snip = gitops.note(cert, snippet=gitops.fragment(cert, body))
        x = Expansion(target=obj_ref(cert), change=change, command=C.patch_command(change), values=values,
                      gitops=msg, git_snippet=snip,
                      explain=f"{kind} {pname} uses {acme_server(prod)} with the same solvers as {name}.")
    return [x]


def delete_certificate_secret(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    cert = certificate(pc)
    sname = str(spec(cert).get("secretName") or "")
    sec = pc.idx.get("Secret", ns_of(cert), sname)
    prod = pc.memo.get("production_issuer")
    if sec is None:
        if not pc.idx.was_read("Secret"):
            return [Expansion(target=kref("Secret", ns_of(cert), sname),
                              blocked="the Secret was not read, so it cannot be deleted safely by uid")]
        return [Expansion(target=kref("Secret", ns_of(cert), sname),
                          satisfied=f"Secret {ns_of(cert)}/{sname} does not exist: cert-manager issues it anew")]
    change = C.delete(sec)
    x = Expansion(target=obj_ref(sec), change=change, command=C.delete_command(sec),
                  explain=f"Secret {ns_of(sec)}/{sname} holds the staging certificate (issuer "
                          f"{annotations_of(sec).get('cert-manager.io/issuer-name', '?')}).")
    if not _holds_staging(pc, sec):
        x.satisfied = f"Secret {sname} no longer holds a staging certificate" + (f" (issuer {prod})" if prod else "")
    return [x]


def _holds_staging(pc: PlanContext, sec: Obj) -> bool:
    from edgedoctor.certinfo import cert_info, secret_chain_pem, split_pem

    pem = secret_chain_pem(sec)
    if not pem:
        return False
    try:
        return bool(cert_info(split_pem(pem)[0])["staging"])
    except (ValueError, IndexError):
        return False


# ---------------------------------------------------------------- Secret name mismatch


def _mismatch(pc: PlanContext) -> tuple[Obj, str, str, Obj]:
    f = pc.finding("cert-secret-name-mismatch")
    ctx = pc.ctx
    if ctx.gateway is None or ctx.listener is None or ctx.secret_ref is None:
        raise NotApplicable(f"no HTTPS listener with a certificateRef serves {pc.host}")
    cref = str((f.evidence if f else {}).get("certificate") or "")
    cert = None
    if "/" in cref:
        cns, cname = cref.split("/", 1)
        cert = pc.idx.get("Certificate", cns, cname)
    if cert is None:
        # Idempotency: after the fix, the listener's Secret is written by a Certificate again.
        sns, sname = ctx.secret_ref
        cert = next((c for c in pc.idx.in_namespace("Certificate", sns) if spec(c).get("secretName") == sname), None)
        if cert is None:
            raise NotApplicable(f"the diagnosis of {pc.host} names no Certificate whose Secret the listener should use")
    sns, sname = ctx.secret_ref
    return ctx.gateway, sns, sname, cert


def retarget_listener(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    gw, sns, sname, cert = _mismatch(pc)
    ls = pc.ctx.listener
    assert ls is not None
    want = str(spec(cert).get("secretName") or "")
    idx = next(i for i, x in enumerate(as_list(spec(gw).get("listeners"))) if as_dict(x).get("name") == ls.name)
    refs = as_list(as_dict(ls.spec.get("tls")).get("certificateRefs"))
    ops: list[dict[str, Any]] = [
        {"op": "test", "path": f"/spec/listeners/{idx}/name", "value": ls.name},
        {"op": "test", "path": f"/spec/listeners/{idx}/tls/certificateRefs/0/name", "value": sname},
        {"op": "replace", "path": f"/spec/listeners/{idx}/tls/certificateRefs/0/name", "value": want},
    ]
    cross = ns_of(cert) != ns_of(gw)
    if cross:
        ref_ns = as_dict(refs[0]).get("namespace") if refs else None
        ops.append({"op": "add" if ref_ns is None else "replace",
                    "path": f"/spec/listeners/{idx}/tls/certificateRefs/0/namespace", "value": ns_of(cert)})
    path = ["spec", "listeners", {"name": ls.name}, "tls", "certificateRefs", 0, "name"]
    change = C.patch(gw, ops, patch_type="json", expect=[{"path": path, "equals": want}],
                     fields=[f"spec.listeners[name={ls.name}].tls.certificateRefs[0].name: {sname} -> {want}"])
    new_ref = {"kind": "Secret", "name": want, **({"namespace": ns_of(cert)} if cross else {})}
    msg, snip = gitops.note(gw, snippet=gitops.fragment(gw, {"spec": {"listeners": [{"name": ls.name, "tls": {"certificateRefs": [new_ref]}}]}}))
    secret_exists = pc.idx.get("Secret", ns_of(cert), want) is not None
    ready = cond_of(cert, "Ready").get("status") == "True"
    x = Expansion(
        target=obj_ref(gw), change=change, command=C.patch_command(change), gitops=msg, git_snippet=snip,
        option="listener", recommended=secret_exists,
        explain=(f"Point listener {ls.name} at Secret {want}, which Certificate {name_of(cert)} writes"
                 + (" and which exists" + (" with a Ready certificate" if ready else "") + ": no new issuance."
                    if secret_exists else "; that Secret does not exist yet either.")
                 + (f" The Secret is in namespace {ns_of(cert)}: a ReferenceGrant there must allow the Gateway "
                    "(playbook create-reference-grant)." if cross else "")),
    )
    if sname == want and (not cross or sns == ns_of(cert)):
        x.satisfied = f"listener {ls.name} already refers to Secret {want}"
    if annotations_of(gw).get("cert-manager.io/cluster-issuer") or annotations_of(gw).get("cert-manager.io/issuer"):
        x.explain += (" The Gateway carries a cert-manager issuer annotation: gateway-shim will also create a "
                      f"Certificate named {want} for the listener.")
    return [x]


def rename_certificate_secret(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    gw, sns, sname, cert = _mismatch(pc)
    cur = str(spec(cert).get("secretName") or "")
    body = {"spec": {"secretName": sname}}
    change = C.patch(cert, body)
    msg, snip = gitops.note(cert, snippet=gitops.fragment(cert, body))
    secret_exists = pc.idx.get("Secret", ns_of(cert), cur) is not None
    x = Expansion(
        target=obj_ref(cert), change=change, command=C.patch_command(change), gitops=msg, git_snippet=snip,
        option="certificate", recommended=not secret_exists,
        explain=(f"Make Certificate {name_of(cert)} write Secret {sname} (now {cur}): cert-manager issues a new "
                 "certificate into it (a new ACME order; Let's Encrypt allows 5 per week for the same names)."),
    )
    if sns != ns_of(cert):
        x.blocked = (f"the listener's Secret is in namespace {sns} but Certificate {name_of(cert)} lives in "
                     f"{ns_of(cert)}: a Certificate writes its Secret in its own namespace")
    if cur == sname:
        x.satisfied = f"Certificate {name_of(cert)} already writes Secret {sname}"
    return [x]


# ---------------------------------------------------------------- rotate the Cloudflare token


def cluster_resource_namespace(pc: PlanContext) -> str:
    cm = cert_manager(pc)
    if cm is None:
        return "cert-manager"
    v = cm.flag("--cluster-resource-namespace")
    if not v or v.startswith("$("):
        return cm.namespace
    return v


def token_refs(pc: PlanContext, issuer: Obj) -> list[tuple[str, str, str]]:
    ns = ns_of(issuer) if issuer.get("kind") == "Issuer" else cluster_resource_namespace(pc)
    out: list[tuple[str, str, str]] = []
    for s in as_list(as_dict(spec(issuer).get("acme")).get("solvers")):
        cf = as_dict(as_dict(as_dict(s).get("dns01")).get("cloudflare"))
        ref = as_dict(cf.get("apiTokenSecretRef"))
        if ref.get("name"):
            item = (ns, str(ref["name"]), str(ref.get("key") or "api-token"))
            if item not in out:
                out.append(item)
    return out


def rotate_token(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    cert = certificate(pc)
    kind, name, issuer = issuer_of(pc, cert)
    if issuer is None:
        raise NotApplicable(f"the Certificate's issuer {kind} {name} was not found")
    refs = token_refs(pc, issuer)
    if not refs:
        raise NotApplicable(f"{kind} {name} has no Cloudflare solver with an apiTokenSecretRef")
    out = []
    for sns, sname, key in refs:
        sec = pc.idx.get("Secret", sns, sname)
        placeholder = {"data": {key: C.SECRET_PLACEHOLDER}}
        if sec is not None:
            change = C.patch(sec, placeholder, expect=[])
            command = (f"kubectl -n {sns} create secret generic {sname} --from-file={key}=<token-file> "
                       "--dry-run=client -o yaml | kubectl apply -f -")
        else:
            change = C.create("Secret", sns, {"metadata": {"name": sname, "namespace": sns}, "type": "Opaque", **placeholder})
            command = f"kubectl -n {sns} create secret generic {sname} --from-file={key}=<token-file>"
        change["secret"] = {"path": ["data", key], "encoding": "base64"}
        change["fields"] = [f"data.{key} (the value is never shown)"]
        msg, _ = gitops.note(sec, snippet=None) if sec is not None else (None, None)
        out.append(Expansion(
            target=kref("Secret", sns, sname), change=change, command=command, gitops=msg,
            secret_input=f"the new Cloudflare API token for {kind} {name} (permissions Zone:Read and DNS:Edit on the zone)",
            values={"token_secret": sname, "token_namespace": sns, "token_key": key},
            explain=f"{kind} {name} reads the token from Secret {sns}/{sname}, key {key}"
                    + ("" if sec is not None else " (it does not exist: it is created)") + ".",
        ))
    for c in pc.ctx.controllers.get("external-dns") or []:
        for cont in as_list(as_dict(as_dict(spec(c.deployment).get("template")).get("spec")).get("containers")):
            for env in as_list(as_dict(cont).get("env")):
                ref = as_dict(as_dict(as_dict(env).get("valueFrom")).get("secretKeyRef"))
                if ref.get("name") and "CF_" in str(as_dict(env).get("name", "")):
                    pc.notes.append(f"external-dns {c.namespace}/{c.name} reads its own Cloudflare token from Secret "
                                    f"{c.namespace}/{ref['name']}: rotate it too if it is the same token, then restart it")
    pc.notes.append("cert-manager reads the token at each attempt: the failing Challenge is retried with back-off; "
                    "to retry now, run force-renew or cleanup-stuck-orders afterwards")
    return out


# ---------------------------------------------------------------- conditions (applies_when)


def has_stuck_challenges(pc: PlanContext) -> bool:
    """Challenges of the host's Certificate that only a person can unblock: the controller
    is gone while they hold finalizers, or a deleted one's cleanup keeps failing."""
    cert = pc.ctx.certificate
    if cert is None:
        return False
    cm = cert_manager(pc)
    gone = cm is None or not cm.available
    for cr in requests_of(pc, cert):
        for o in orders_of(pc, cr):
            for ch in challenges_of(pc, o):
                if as_list(meta(ch).get("finalizers")) and (gone or (meta(ch).get("deletionTimestamp") and cleanup_failing(ch))):
                    return True
    return False


def has_cloudflare_cleanup_error(pc: PlanContext) -> bool:
    cert = pc.ctx.certificate
    if cert is None:
        return False
    for cr in requests_of(pc, cert):
        for o in orders_of(pc, cr):
            for ch in challenges_of(pc, o):
                reason = str(status(ch).get("reason") or "")
                if "/zones//dns_records/" in reason or "7003" in reason:
                    return True
    return False
