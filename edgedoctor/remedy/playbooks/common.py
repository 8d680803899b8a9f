"""What the step builders of several playbooks share: finding the host's Certificate and its
requests, Orders and Challenges, their ages and states, the issuer, the Gateway, read
references, the restart of a Deployment.
"""

from __future__ import annotations

import re
from typing import Any

from edgedoctor.diagnosis.controllers import Controller
from edgedoctor.diagnosis.index import (
    Obj,
    as_dict,
    condition,
    meta,
    name_of,
    ns_of,
    spec,
    status,
)
from edgedoctor.remedy import changes as C
from edgedoctor.remedy import gitops
from edgedoctor.remedy.context import Expansion, PlanContext, obj_ref
from edgedoctor.remedy.errors import NotApplicable

STUCK_MINUTES = 30.0  # as the diagnosis: an Order pending this long is stuck


FAILED_ORDER_STATES = ("invalid", "errored", "expired")


FINAL_CHALLENGE_STATES = ("valid", "invalid", "errored", "expired")


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


def age_text(m: float | None) -> str:
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


def read_ref(obj: Obj | None, kind: str, namespace: str | None, name: str | None, fields: list[str]) -> dict[str, Any]:
    return {"kind": kind, "namespace": namespace, "name": name, "fields": fields,
            "uid": meta(obj).get("uid") if obj else None}


def read_of(obj: Obj, fields: list[str]) -> dict[str, Any]:
    return read_ref(obj, str(obj.get("kind")), ns_of(obj) or None, name_of(obj), fields)


# ---------------------------------------------------------------- switch to the production issuer


def issuer_of(pc: PlanContext, cert: Obj) -> tuple[str, str, Obj | None]:
    ref = as_dict(spec(cert).get("issuerRef"))
    kind = str(ref.get("kind") or "Issuer")
    name = str(ref.get("name") or "")
    ns = ns_of(cert) if kind == "Issuer" else ""
    return kind, name, pc.idx.get(kind, ns, name)


GATEWAY_GROUP = "gateway.networking.k8s.io"


ENVOY_GROUP = "gateway.envoyproxy.io"


RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


CREATED_BY = "edgedoctor.io/playbook"


def the_gateway(pc: PlanContext) -> Obj:
    if pc.ctx.gateway is None:
        raise NotApplicable(f"no Gateway serves {pc.host}")
    return pc.ctx.gateway


def dns_name(text: str) -> str:
    out = re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip("-.")
    return out[:253].rstrip("-.")


# ---------------------------------------------------------------- PROXY protocol, both sides


PP_ANNOTATIONS: dict[str, tuple[str, str, str]] = {
    # provider annotation prefix -> (provider, annotation that makes the LB send PROXY, value)
    "service.beta.kubernetes.io/aws-load-balancer-": ("AWS", "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol", "*"),
    "service.beta.kubernetes.io/do-loadbalancer-": ("DigitalOcean", "service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol", "true"),
    "load-balancer.hetzner.cloud/": ("Hetzner", "load-balancer.hetzner.cloud/uses-proxyprotocol", "true"),
    "service.beta.kubernetes.io/scw-loadbalancer-": ("Scaleway", "service.beta.kubernetes.io/scw-loadbalancer-proxy-protocol-v2", "true"),
    "service.beta.kubernetes.io/linode-loadbalancer-": ("Linode", "service.beta.kubernetes.io/linode-loadbalancer-proxy-protocol", "v2"),
    "service.beta.kubernetes.io/ovh-loadbalancer-": ("OVHcloud", "service.beta.kubernetes.io/ovh-loadbalancer-proxy-protocol", "v2"),
}


def merge_patch(obj: Obj, body: dict[str, Any], **fields: Any) -> Expansion:
    """A merge patch of `body` into `obj`: the change, its kubectl command, and the same
    fragment for the Git source that manages the object (GitOps would revert a live edit)."""
    change = C.patch(obj, body)
    msg, snip = gitops.note(obj, snippet=gitops.fragment(obj, body))
    return Expansion(target=obj_ref(obj), change=change, command=C.patch_command(change), gitops=msg,
                     git_snippet=snip, **fields)


# ---------------------------------------------------------------- restart the data plane


def restart_of(pc: PlanContext, dep: Obj) -> Expansion:
    body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: pc.ev.now}}}}}
    # A restart since the Secret got its certificate is the one this step asks for: another
    # would load the same Secret again (then Envoy Gateway's logs, not a restart, tell why).
    f = pc.finding("cert-stale-served")
    since = f.evidence.get("secret_not_before") if f is not None else None
    expect = ([{"path": ["spec", "template", "metadata", "annotations", RESTARTED_AT], "not_before": since}]
              if since else [])
    change = C.patch(dep, body, expect=expect)
    return Expansion(target=obj_ref(dep), change=change, label=name_of(dep),
                     command=f"kubectl -n {ns_of(dep)} rollout restart deployment/{name_of(dep)}",
                     explain=f"Deployment {ns_of(dep)}/{name_of(dep)} rolls its Pods one by one (as `kubectl rollout "
                             "restart`): the new Pods load the current configuration and Secrets.")
