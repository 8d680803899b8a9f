"""Steps of fix-secret-name-mismatch: the listener's certificateRefs against the Certificates' secretName, and the two ways to make them meet.
"""

from __future__ import annotations

from typing import Any

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
from edgedoctor.remedy.context import Expansion, PlanContext, obj_ref
from edgedoctor.remedy.errors import NotApplicable
from edgedoctor.remedy.playbooks.common import cond_of, merge_patch, read_of


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
    secret_exists = pc.idx.get("Secret", ns_of(cert), cur) is not None
    x = merge_patch(
        cert, body, option="certificate", recommended=not secret_exists,
        explain=(f"Make Certificate {name_of(cert)} write Secret {sname} (now {cur}): cert-manager issues a new "
                 "certificate into it (a new ACME order; Let's Encrypt allows 5 per week for the same names)."),
    )
    if sns != ns_of(cert):
        x.blocked = (f"the listener's Secret is in namespace {sns} but Certificate {name_of(cert)} lives in "
                     f"{ns_of(cert)}: a Certificate writes its Secret in its own namespace")
    if cur == sname:
        x.satisfied = f"Certificate {name_of(cert)} already writes Secret {sname}"
    return [x]
