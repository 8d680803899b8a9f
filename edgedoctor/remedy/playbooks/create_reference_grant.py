"""Steps of create-reference-grant: the cross-namespace references the host needs and the
ReferenceGrants that allow them.
"""

from __future__ import annotations

from typing import Any

from edgedoctor.diagnosis.index import (
    name_of,
    ns_of,
)
from edgedoctor.diagnosis.routes import (
    backend_refs,
)
from edgedoctor.diagnosis.routing import grant_allows
from edgedoctor.remedy import changes as C
from edgedoctor.remedy import gitops
from edgedoctor.remedy.context import Expansion, PlanContext, kref
from edgedoctor.remedy.playbooks.common import CREATED_BY, GATEWAY_GROUP, dns_name, read_ref

# ---------------------------------------------------------------- ReferenceGrant


def _grants_needed(pc: PlanContext) -> list[dict[str, Any]]:
    """Cross-namespace references of the host's chain, and whether a grant allows each."""
    ctx = pc.ctx
    out = []
    gw = ctx.gateway
    if gw is not None and ctx.secret_ref is not None and ctx.secret_ref[0] != ns_of(gw):
        sns, sname = ctx.secret_ref
        out.append({"from_kind": "Gateway", "from_ns": ns_of(gw), "to_kind": "Secret", "to_group": "",
                    "to_ns": sns, "to_name": sname, "anchor": gw,
                    "allowed": grant_allows(pc.idx, "Gateway", ns_of(gw), "Secret", sns, sname)})
    route = ctx.route
    if route is not None:
        rns = ns_of(route)
        for b in backend_refs(route):
            kind = b.get("kind") or "Service"
            bns = str(b.get("namespace") or rns)
            if kind != "Service" or (b.get("group") or "") not in ("", "core") or bns == rns:
                continue
            bname = str(b.get("name") or "")
            rkind = str(route.get("kind") or "HTTPRoute")
            item = {"from_kind": rkind, "from_ns": rns, "to_kind": "Service", "to_group": "",
                    "to_ns": bns, "to_name": bname, "anchor": route,
                    "allowed": grant_allows(pc.idx, rkind, rns, "Service", bns, bname)}
            if item not in out:
                out.append(item)
    return out


def read_reference_grants(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    needed = _grants_needed(pc)
    nss = sorted({n["to_ns"] for n in needed})
    reads = [read_ref(g, "ReferenceGrant", ns_of(g), name_of(g), ["spec.from", "spec.to"])
             for ns in nss for g in pc.idx.in_namespace("ReferenceGrant", ns)]
    if not reads:
        reads = [read_ref(None, "ReferenceGrant", ns, None, ["spec.from", "spec.to"]) for ns in nss]
    return [Expansion(target=", ".join(f"ReferenceGrants in {ns}" for ns in nss) or None, reads=reads)]


def create_reference_grant(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    needed = _grants_needed(pc)
    if not needed:
        pc.notes.append(f"no reference of {pc.host}'s Gateway listener or route crosses namespaces: "
                        "a ReferenceGrant changes nothing here")
        return []
    out = []
    for n in needed:
        name = dns_name(f"{n['from_kind']}-{n['from_ns']}-to-{n['to_kind']}-{n['to_name']}")
        body = {
            "metadata": {"name": name, "namespace": n["to_ns"], "annotations": {CREATED_BY: "create-reference-grant"}},
            "spec": {
                "from": [{"group": GATEWAY_GROUP, "kind": n["from_kind"], "namespace": n["from_ns"]}],
                "to": [{"group": n["to_group"], "kind": n["to_kind"], "name": n["to_name"]}],
            },
        }
        change = C.create("ReferenceGrant", n["to_ns"], body)
        api = f"{GATEWAY_GROUP}/v1beta1"
        msg, snip = gitops.note(n["anchor"], snippet=gitops.to_yaml({"apiVersion": api, "kind": "ReferenceGrant", **body}),
                                created=True)
        x = Expansion(
            target=kref("ReferenceGrant", n["to_ns"], name), change=change,
            command=C.create_command("ReferenceGrant", body, api), gitops=msg, git_snippet=snip,
            label=f"{n['to_kind']} {n['to_ns']}/{n['to_name']}",
            explain=f"Allows {n['from_kind']} objects in namespace {n['from_ns']} to refer to {n['to_kind']} "
                    f"{n['to_name']} in {n['to_ns']} (only that one, by name).",
        )
        if n["allowed"]:
            x.satisfied = f"a ReferenceGrant in {n['to_ns']} already allows {n['from_kind']} {n['from_ns']} -> {n['to_kind']} {n['to_name']}"
        elif n["allowed"] is None:
            x.explain += " (ReferenceGrants were not read: the server dry run shows whether one exists.)"
        out.append(x)
    return out
