"""Predictions only manifests need: what the served certificate and the controller
version will do once the change is applied, where a cluster check reads it from the
served certificate or from an error message instead."""

from __future__ import annotations

from edgedoctor.diagnosis import commands as cmd
from edgedoctor.diagnosis.acme_errors import cloudflare_cleanup_bug_affected
from edgedoctor.diagnosis.context import Ctx
from edgedoctor.diagnosis.controllers import fmt_version
from edgedoctor.diagnosis.index import as_dict, as_list, name_of, ns_of, spec
from edgedoctor.diagnosis.issuers import issuer_obj

# Let's Encrypt's staging directory (and the pebble/other ACME staging endpoints that say so).
STAGING_MARKERS = ("acme-staging", "staging")


def apply(ctx: Ctx) -> None:
    cert = ctx.certificate
    if cert is None:
        return
    kind, name, issuer = issuer_obj(ctx, cert)
    cref = f"{ns_of(cert)}/{name_of(cert)}"
    where = f"{kind} {name}"
    if issuer is not None:
        server = str(as_dict(spec(issuer).get("acme")).get("server") or "")
        staging = any(m in server.lower() for m in STAGING_MARKERS)
        why = f"its ACME server is {server}"
    else:
        staging = "staging" in name.lower()
        why = "by its name (the issuer is not in these manifests)"
        server = ""
    if staging:
        ctx.add(
            "cert-staging-issuer",
            f"Certificate {cref} for {ctx.host} is issued by {where}, a staging issuer ({why}): "
            "browsers will not trust what it issues",
            node="certificate",
            evidence={"certificate": cref, "issuer": where, "acme_server": server or None},
            commands=[f"kubectl -n {ns_of(cert)} get certificate {name_of(cert)} -o jsonpath='{{.spec.issuerRef}}'"],
        )
    cm = ctx.controller("cert-manager")
    if cm is None or issuer is None:
        return
    cloudflare = any(
        "cloudflare" in as_dict(as_dict(s).get("dns01"))
        for s in as_list(as_dict(spec(issuer).get("acme")).get("solvers"))
    )
    if cloudflare and cloudflare_cleanup_bug_affected(cm.version):
        ctx.add(
            "cert-cloudflare-7003-cleanup",
            f"cert-manager {fmt_version(cm.version)} ({cm.namespace}/{cm.name}) has the Cloudflare cleanup bug "
            f"(DELETE /zones//dns_records/..., error 7003): every DNS-01 order of {where} for Certificate "
            f"{cref} stays unfinished, so it is never issued or renewed; fixed in v1.12.16, v1.16.4, v1.17.1, v1.18.0",
            evidence={"cert_manager_version": fmt_version(cm.version), "issuer": where, "certificate": cref},
            commands=[cmd.cmctl_status(ns_of(cert), name_of(cert))],
        )
