"""Steps of the force-renew playbook: see whether the Certificate is issuing or ready, trigger a
renewal, drop the in-flight Order or request that blocks one.
"""

from __future__ import annotations

from typing import Any

from edgedoctor.diagnosis.index import (
    Obj,
    annotations_of,
    name_of,
    ns_of,
    status,
)
from edgedoctor.remedy import changes as C
from edgedoctor.remedy.context import Expansion, PlanContext, obj_ref
from edgedoctor.remedy.playbooks.common import (
    age_minutes,
    age_text,
    cert_manager,
    certificate,
    cond_of,
    cr_stuck,
    order_stuck,
    orders_of,
    read_of,
    requests_of,
)

RENEW_CONDITION = {
    "type": "Issuing",
    "status": "True",
    "reason": "ManuallyTriggered",
    "message": "Certificate re-issuance manually triggered",
}


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
            pc.notes.append(f"Order {ns_of(order)}/{name_of(order)} is {state} {age_text(age_minutes(pc, order))}: "
                            "issuance in progress, nothing to delete yet; run force-renew again if it stays")
            continue
        out.append(Expansion(
            target=obj_ref(order), change=C.delete(order), command=C.delete_command(order),
            explain=f"Order {name_of(order)} is {state} {age_text(age_minutes(pc, order))}.",
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
            pc.notes.append(f"CertificateRequest {ns_of(cr)}/{name_of(cr)} was created {age_text(age_minutes(pc, cr))[4:]} ago: "
                            "give it time before deleting it")
        return []
    ready = cond_of(cr, "Ready")
    return [Expansion(target=obj_ref(cr), change=C.delete(cr), command=C.delete_command(cr),
                      explain=f"CertificateRequest {name_of(cr)}: {ready.get('reason', 'pending')}: {ready.get('message', '')}".rstrip(": "))]
