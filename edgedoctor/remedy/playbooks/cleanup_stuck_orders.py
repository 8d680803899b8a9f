"""Steps of cleanup-stuck-orders (and of cert-manager-cloudflare-cleanup-bug): the stuck
requests, Orders and Challenges of the host's Certificate, their finalizers, the leaked
_acme-challenge TXT records.
"""

from __future__ import annotations

from typing import Any

from edgedoctor.diagnosis.commands import dig
from edgedoctor.diagnosis.index import (
    Obj,
    annotations_of,
    as_list,
    meta,
    name_of,
    ns_of,
    spec,
    status,
)
from edgedoctor.remedy import changes as C
from edgedoctor.remedy.context import Expansion, PlanContext, obj_ref
from edgedoctor.remedy.playbooks.common import (
    age_minutes,
    age_text,
    cert_manager,
    certificate,
    challenges_of,
    cleanup_failing,
    cleanup_fails,
    cond_of,
    cr_stuck,
    order_stuck,
    orders_of,
    read_of,
    requests_of,
)


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
            pc.notes.append(f"CertificateRequest {ns_of(cr)}/{name_of(cr)} was created {age_text(age)[4:]} ago and is "
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
            explain=f"Order {name_of(o)}: state {st.get('state') or 'pending'} {age_text(age_minutes(pc, o))}"
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
    # Asked where cert-manager's self-check asks: the zone's authoritative server (any
    # address form, IPv6 and a port included), else the system resolver.
    server = next((str(s["address"]) for s in as_list((pc.ev.dns or {}).get("authoritative_servers"))
                   if isinstance(s, dict) and s.get("address")), None)
    zone = pc.values.get("zone") or _zone_guess(names_sorted[0])
    cmd = "\n".join(
        [dig(n, "TXT", server, options=("+short",)) for n in names_sorted]
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
