"""What the cluster layers tell the probes' side, in one place.

The probes' layer (world*.py) judges the DNS, TLS and HTTP evidence against facts the
cluster layers established: `EdgeFacts`, built by `edge_facts` from their `Ctx` and by
nothing else. The probes' plan (`probe_facts`: which addresses, registry names and ACME
names to ask about) reads the same derivations, so the two never disagree. A new fact
is a field of `EdgeFacts` and its line in `edge_facts` (`tests/test_world.py` fails when
a field has no line there); tests of the probes' layer build `EdgeFacts` by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgedoctor.diagnosis.context import Ctx
from edgedoctor.diagnosis.dnssync import (
    cloudflare_proxied_annotation,
    external_dns_registry,
    route_resource,
)
from edgedoctor.diagnosis.index import as_dict, name_of, ns_of, spec
from edgedoctor.diagnosis.proxyproto import proxy_protocol_facts
from edgedoctor.diagnosis.storedcert import parse_duration


@dataclass
class EdgeFacts:
    host: str
    expected_addresses: list[str] = field(default_factory=list)
    expected_from: str = "none"  # "gateway-status" | "target-annotation" | "none"
    listener_secret_pem: str | None = None
    external_dns: dict[str, Any] | None = None
    route_resource: str | None = None
    acme_challenges: list[dict[str, Any]] = field(default_factory=list)
    proxy_protocol: dict[str, Any] = field(default_factory=dict)
    now: str = ""
    renew_before_seconds: int | None = None
    ca_bundle_pem: str | None = None
    # The route's cloudflare-proxied annotation (or --cloudflare-proxied), when known.
    cloudflare_proxied: bool | None = None


def edge_facts(ctx: Ctx) -> EdgeFacts:
    """The facts of the cluster layers' analysis `ctx` that the probes' layer judges by."""
    return EdgeFacts(
        host=ctx.host,
        expected_addresses=list(ctx.expected_addresses),
        expected_from=ctx.expected_from,
        listener_secret_pem=ctx.secret_pem,
        external_dns=external_dns_registry(ctx),
        route_resource=route_resource(ctx.route),
        acme_challenges=pending_challenges(ctx),
        proxy_protocol=proxy_protocol_summary(ctx),
        now=ctx.ev.now,
        renew_before_seconds=renew_before_seconds(ctx),
        ca_bundle_pem=ctx.ev.options.get("ca_bundle_pem"),
        cloudflare_proxied=cloudflare_proxied_annotation(ctx),
    )


def probe_facts(ctx: Ctx) -> dict[str, Any]:
    """What the probes should ask, as the cluster objects tell it."""
    acme = sorted({str(spec(ch).get("dnsName")) for ch in ctx.challenges if spec(ch).get("dnsName")})
    return {
        "gateway_addresses": list(ctx.expected_addresses),
        "acme_names": acme,
        "external_dns": external_dns_registry(ctx),
        "proxy_protocol": proxy_protocol_summary(ctx),
    }


def pending_challenges(ctx: Ctx) -> list[dict[str, Any]]:
    """The DNS-01 Challenges presented and still waiting, whose record can be looked for."""
    pending = []
    for ch in ctx.challenges:
        st = as_dict(ch.get("status"))
        reason = str(st.get("reason") or "")
        waiting = not reason or "propagation" in reason.lower()
        # Only a presented record can be looked for at the nameservers; a Challenge that
        # failed to present (a Cloudflare API error) has its own cause.
        if st.get("presented") and waiting and (st.get("state") in (None, "", "pending") or st.get("processing")):
            waited = ctx.age_minutes(ch)
            pending.append({
                "name": name_of(ch),
                "namespace": ns_of(ch),
                "dns_name": spec(ch).get("dnsName"),
                "key": spec(ch).get("key"),
                "wildcard": bool(spec(ch).get("wildcard")),
                "waiting_seconds": waited * 60 if waited is not None else None,
                "reason": st.get("reason"),
            })
    return pending


def proxy_protocol_summary(ctx: Ctx) -> dict[str, Any]:
    """Whether Envoy expects and the load balancer sends a PROXY header (None: unknown)."""
    try:
        facts = proxy_protocol_facts(ctx)
    except Exception:
        return {"envoy_expects": None, "lb_sends": None}
    return {"envoy_expects": facts.get("envoy_expects"), "lb_sends": facts.get("lb_sends")}


def renew_before_seconds(ctx: Ctx) -> int | None:
    """The Certificate's spec.renewBefore (None: cert-manager's default applies)."""
    if ctx.certificate is None:
        return None
    rb = spec(ctx.certificate).get("renewBefore")
    td = parse_duration(rb) if isinstance(rb, str) else None
    return int(td.total_seconds()) if td else None
