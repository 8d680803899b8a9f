"""Steps of rotate-cloudflare-token: the Secret the issuer's Cloudflare solver reads, and its
new token (read at apply time, never shown or logged).
"""

from __future__ import annotations

from typing import Any

from edgedoctor.diagnosis.index import (
    Obj,
    as_dict,
    as_list,
    name_of,
    ns_of,
    spec,
)
from edgedoctor.remedy import changes as C
from edgedoctor.remedy import gitops
from edgedoctor.remedy.context import Expansion, PlanContext, kref, obj_ref
from edgedoctor.remedy.errors import NotApplicable
from edgedoctor.remedy.playbooks.common import (
    cert_manager,
    certificate,
    issuer_of,
    read_of,
    read_ref,
)


def read_issuer_token(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    cert = certificate(pc)
    kind, name, issuer = issuer_of(pc, cert)
    if issuer is None:
        raise NotApplicable(f"the issuer {kind} {name} of Certificate {ns_of(cert)}/{name_of(cert)} was not found")
    reads = [read_of(issuer, ["spec.acme.solvers[*].dns01.cloudflare.apiTokenSecretRef"])]
    for sns, sname, _key in token_refs(pc, issuer):
        sec = pc.idx.get("Secret", sns, sname)
        reads.append(read_ref(sec, "Secret", sns, sname, ["metadata.name", "keys (values are never read)"]))
    return [Expansion(target=obj_ref(issuer), reads=reads)]


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
