"""The named reads and changes that playbook steps refer to (`check:` / `action:`).

READ_TARGETS[name](plan_context, params) and ACTIONS[name](plan_context, params)
return the concrete expansions of a step (pure, from the evidence).
READS[name](objects) interprets what a read step found when it runs (live, or from
the evidence in read-only mode); PRECONDITIONS[name] gives the objects a
precondition reads and READS decides it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from edgedoctor.diagnosis.acme_errors import cloudflare_cleanup_bug_affected
from edgedoctor.diagnosis.controllers import fmt_version, image_tag, parse_version
from edgedoctor.diagnosis.index import Obj, as_dict, as_list, meta, spec, status
from edgedoctor.diagnosis.index import condition as index_condition
from edgedoctor.remedy.context import Expansion, PlanContext
from edgedoctor.remedy.paths import fmt_path, parse_path, values_at
from edgedoctor.remedy.playbooks import (
    add_https_redirect,
    cleanup_stuck_orders,
    common,
    create_reference_grant,
    external_dns_watch_httproute,
    fix_secret_name_mismatch,
    force_renew,
    k8s_gateway_watch_httproute,
    proxy_protocol_both_sides,
    restart_data_plane,
    rotate_cloudflare_token,
    switch_to_production_issuer,
    upgrade_cert_manager,
)

Builder = Callable[[PlanContext, dict[str, Any]], list[Expansion]]

READ_TARGETS: dict[str, Builder] = {
    "certificate-issuing": force_renew.read_certificate_issuing,
    "certificate-ready": force_renew.read_certificate_ready,
    "certificate-chain": cleanup_stuck_orders.read_certificate_chain,
    "cert-manager-version": upgrade_cert_manager.read_cert_manager_version,
    "acme-txt-records": cleanup_stuck_orders.read_leaked_txt,
    "issuer-ref": switch_to_production_issuer.read_issuer_ref,
    "listener-certificate-refs": fix_secret_name_mismatch.read_listener_refs,
    "issuer-token-secret": rotate_cloudflare_token.read_issuer_token,
    "reference-grants": create_reference_grant.read_reference_grants,
    "http-routes": add_https_redirect.read_http_routes,
    "proxy-protocol": proxy_protocol_both_sides.read_proxy_protocol,
    "external-dns-sources": external_dns_watch_httproute.read_external_dns,
    "k8s-gateway-corefile": k8s_gateway_watch_httproute.read_k8s_gateway,
    "data-plane": restart_data_plane.read_data_plane,
    "rediagnose": lambda pc, params: [Expansion(target=f"host {pc.host}")],
}

ACTIONS: dict[str, Builder] = {
    "renew-certificate": force_renew.renew_certificate,
    "delete-inflight-order": force_renew.delete_inflight_order,
    "delete-inflight-request": force_renew.delete_inflight_request,
    "delete-stuck-orders": cleanup_stuck_orders.delete_stuck_orders,
    "delete-stuck-challenges": cleanup_stuck_orders.delete_stuck_challenges,
    "delete-stuck-requests": cleanup_stuck_orders.delete_stuck_requests,
    "remove-challenge-finalizers": cleanup_stuck_orders.remove_challenge_finalizers,
    "delete-leaked-txt": cleanup_stuck_orders.delete_leaked_txt,
    "upgrade-cert-manager": upgrade_cert_manager.upgrade_cert_manager,
    "switch-issuer": switch_to_production_issuer.switch_issuer,
    "delete-certificate-secret": switch_to_production_issuer.delete_certificate_secret,
    "retarget-listener": fix_secret_name_mismatch.retarget_listener,
    "rename-certificate-secret": fix_secret_name_mismatch.rename_certificate_secret,
    "rotate-token": rotate_cloudflare_token.rotate_token,
    "create-reference-grant": create_reference_grant.create_reference_grant,
    "add-http-listener": add_https_redirect.add_http_listener,
    "create-redirect-route": add_https_redirect.create_redirect_route,
    "pin-route-to-https": add_https_redirect.pin_route_to_https,
    "proxy-protocol-envoy": proxy_protocol_both_sides.pp_envoy,
    "proxy-protocol-lb": proxy_protocol_both_sides.pp_lb,
    "external-dns-add-source": external_dns_watch_httproute.external_dns_add_source,
    "k8s-gateway-add-resource": k8s_gateway_watch_httproute.k8s_gateway_add_resource,
    "restart-k8s-gateway": k8s_gateway_watch_httproute.restart_k8s_gateway,
    "restart-envoy": restart_data_plane.restart_envoy,
}

CONDITIONS: dict[str, Callable[[PlanContext], bool]] = {
    "cloudflare-cleanup-error": cleanup_stuck_orders.has_cloudflare_cleanup_error,
    "stuck-challenges": cleanup_stuck_orders.has_stuck_challenges,
}


def condition(name: str, pc: PlanContext) -> bool:
    """A named condition of a playbook's `applies_when`."""
    fn = CONDITIONS.get(name)
    return bool(fn and fn(pc))


def _cm_reads(pc: PlanContext) -> list[dict[str, Any]]:
    cm = common.cert_manager(pc)
    return [common.read_of(cm.deployment, ["spec.template.spec.containers[*].image"])] if cm else []


PRECONDITIONS: dict[str, Callable[[PlanContext], list[dict[str, Any]]]] = {
    "cert-manager-fixed": _cm_reads,
    "cert-manager-v1161": _cm_reads,
}


# ---------------------------------------------------------------- interpreting reads at run time

Found = list[tuple[dict[str, Any], "Obj | None"]]


def _cond(obj: Obj | None, t: str) -> dict[str, Any]:
    return index_condition(status(obj or {}).get("conditions"), t) or {}


def _controller_version(found: Found) -> tuple[str, tuple[int, int, int] | None]:
    for _r, obj in found:
        if obj is None or obj.get("kind") != "Deployment":
            continue
        for c in as_list(as_dict(as_dict(spec(obj).get("template")).get("spec")).get("containers")):
            image = str(as_dict(c).get("image") or "")
            if "cert-manager-controller" in image:
                return image, parse_version(image_tag(image))
    return "", None


def _issuing(found: Found) -> tuple[bool, str]:
    obj = found[0][1] if found else None
    if obj is None:
        return False, "the Certificate is gone"
    c = _cond(obj, "Issuing")
    if c.get("status") == "True":
        if c.get("reason") == "ManuallyTriggered":
            return True, f"Issuing=True (ManuallyTriggered, since {c.get('lastTransitionTime', '?')}): issuance was triggered"
        return True, (f"Issuing=True (reason {c.get('reason')}, since {c.get('lastTransitionTime', '?')}): an issuance is in "
                      "progress; renew does nothing until it ends")
    return True, f"Issuing is {c.get('status', 'not set')}" + (f" ({c.get('reason')})" if c.get("reason") else "") + \
        ": a renew starts an issuance"


def _ready(found: Found) -> tuple[bool, str]:
    obj = found[0][1] if found else None
    if obj is None:
        return False, "the Certificate is gone"
    c = _cond(obj, "Ready")
    ok = c.get("status") == "True"
    return ok, f"Ready={c.get('status', '?')}" + (f" ({c.get('reason')}: {c.get('message', '')})" if c else "") + \
        (f"; valid until {status(obj).get('notAfter')}" if status(obj).get("notAfter") else "")


def _cm_version(found: Found) -> tuple[bool, str]:
    image, v = _controller_version(found)
    if not image:
        return False, "no cert-manager controller Deployment"
    affected = cloudflare_cleanup_bug_affected(v)
    tail = ("has the Cloudflare cleanup bug (fixed in " + fmt_version(upgrade_cert_manager.cloudflare_fix_target(v)) + ")"
            if affected else "has the Cloudflare cleanup fix" if affected is False else "version unknown")
    return True, f"cert-manager {fmt_version(v)} ({image}): {tail}"


def _cm_fixed(found: Found) -> tuple[bool, str]:
    image, v = _controller_version(found)
    fixed = upgrade_cert_manager.fixed_for("cloudflare", v)
    if fixed:
        return True, f"cert-manager {fmt_version(v)} has the Cloudflare cleanup fix"
    return False, (f"cert-manager {fmt_version(v)} still has the Cloudflare cleanup bug: upgrade it first "
                   f"(to {fmt_version(upgrade_cert_manager.cloudflare_fix_target(v))} or later), then run this playbook again")


def _cm_v1161(found: Found) -> tuple[bool, str]:
    image, v = _controller_version(found)
    if upgrade_cert_manager.fixed_for("v1160", v):
        return True, f"cert-manager {fmt_version(v)} reads ClusterIssuer Secrets from the right namespace"
    return False, f"cert-manager {fmt_version(v)} still is v1.16.0: upgrade it first"


def _txt(found: Found) -> tuple[bool, str]:
    names = sorted({f"_acme-challenge.{spec(o).get('dnsName')}" for _r, o in found if o is not None and spec(o).get("dnsName")})
    if not names:
        return True, "the Challenges are gone; check the zone for the names listed in the plan"
    return True, "TXT records to check in the zone: " + ", ".join(names)


READS: dict[str, Callable[[Found], tuple[bool, str]]] = {
    "certificate-issuing": _issuing,
    "certificate-ready": _ready,
    "cert-manager-version": _cm_version,
    "cert-manager-fixed": _cm_fixed,
    "cert-manager-v1161": _cm_v1161,
    "acme-txt-records": _txt,
}


def summarize(found: Found) -> list[str]:
    """One line per object read: what it is and the state of the fields shown to people."""
    out = []
    for r, obj in found:
        ref = f"{r.get('kind')} {r.get('namespace') + '/' if r.get('namespace') else ''}{r.get('name') or '(all)'}"
        if obj is None:
            out.append(f"{ref}: not found")
            continue
        if obj.get("kind") == "Secret":
            out.append(f"{ref}: exists, keys {', '.join(str(k) for k in as_list(obj.get('keys'))) or '(none)'}")
            continue
        bits = []
        for f in r.get("fields") or []:
            path = parse_path(str(f))
            if path is None:
                continue
            vals = values_at(obj, path)
            shown = fmt_path(path)
            if not vals:
                bits.append(f"{shown}: (not set)")
            else:
                bits.append(f"{shown}: " + ", ".join(_value(v) for v in vals))
        if meta(obj).get("deletionTimestamp") and not any("deletionTimestamp" in b for b in bits):
            bits.append(f"deleting since {meta(obj).get('deletionTimestamp')}")
        if not bits:
            bits.append(_short(spec(obj)))
        out.append(f"{ref}: " + "; ".join(bits))
    return out


def _value(v: Any) -> str:
    if isinstance(v, dict) and "type" in v and "status" in v:
        return f"{v.get('status')}" + (f" ({v.get('reason')})" if v.get("reason") else "")
    if isinstance(v, str):
        return v if len(v) <= 120 else v[:117] + "..."
    return _short(v, 120)


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, separators=(",", ":"), sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = ["ACTIONS", "PRECONDITIONS", "READS", "READ_TARGETS", "condition", "summarize"]
