"""Steps of switch-to-production-issuer: the issuer the Certificate names, its production twin,
the switch, and the Secret that still holds the staging certificate.
"""

from __future__ import annotations

import json
from typing import Any

from edgedoctor.diagnosis.index import (
    Obj,
    annotations_of,
    as_dict,
    as_list,
    meta,
    name_of,
    ns_of,
    spec,
)
from edgedoctor.remedy import changes as C
from edgedoctor.remedy import gitops
from edgedoctor.remedy.context import Expansion, PlanContext, kref, obj_ref
from edgedoctor.remedy.errors import NotApplicable
from edgedoctor.remedy.playbooks.common import certificate, cond_of, issuer_of, merge_patch, read_of


def read_issuer_ref(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    cert = certificate(pc)
    reads = [read_of(cert, ["spec.issuerRef", "spec.secretName"])]
    kind, name, issuer = issuer_of(pc, cert)
    if issuer is not None:
        reads.append(read_of(issuer, ["spec.acme.server", "spec.acme.solvers", "status.conditions[type=Ready]"]))
    return [Expansion(target=obj_ref(cert), reads=reads)]


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
        x = merge_patch(shim, body, values=values,
                      explain=f"Certificate {name_of(cert)} is made by cert-manager's gateway-shim from Gateway "
                              f"{name_of(shim)}: its {key} annotation names the issuer, and a direct edit of the "
                              "Certificate would be undone.")
    else:
        body = {"spec": {"issuerRef": {"name": pname, "kind": kind, "group": "cert-manager.io"}}}
        x = merge_patch(cert, body, values=values,
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
