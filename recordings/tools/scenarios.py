"""The incidents of the library: one healthy edge per scenario, one link broken, and the
world (DNS, what answers on 443 and 80) as that break makes it look.

Every scenario says, from the reference facts and not from what the engine answers, which
verdict, root cause and category a correct diagnosis gives (`expected`), and tells the
story: what happened, and what the engineer on call saw.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import stack as st
from rig import Site, World
from stack import Cluster, Stack, cond, ts

from tests.servers.pki import PKI

UTC = dt.timezone.utc


def T(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Scenario:
    name: str
    title: str  # one line for the index
    story: str
    expected: dict[str, Any]
    build: Callable[[PKI], tuple[Stack, Cluster, World]]
    tags: list[str] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.expected.get("root_cause") or "healthy"


SCENARIOS: list[Scenario] = []


def scenario(name: str, title: str, expected: dict[str, Any], story: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[[PKI], tuple[Stack, Cluster, World]]) -> Callable[..., Any]:
        SCENARIOS.append(Scenario(name, title, " ".join(story.split()), expected, fn))
        return fn

    return deco


def crit(code: str, category: str) -> dict[str, Any]:
    return {"verdict": "critical", "root_cause": code, "category": category}


def warn(code: str, category: str) -> dict[str, Any]:
    return {"verdict": "warning", "root_cause": code, "category": category}


OK = {"verdict": "ok", "root_cause": None, "category": None}

# ----------------------------------------------------------------------------- eras
# Versions that ran together at the scenario's time (gateway-api.md compatibility matrix;
# cert-manager and external-dns release history in the reference notes).

ERAS = {
    "2024-10": dict(eg_version="v1.2.1", envoy_image="docker.io/envoyproxy/envoy:distroless-v1.32.1",
                    cm_version="v1.16.0", edns_version="v0.15.0"),
    "2025-02": dict(eg_version="v1.3.0", envoy_image="docker.io/envoyproxy/envoy:distroless-v1.33.0",
                    cm_version="v1.16.3", edns_version="v0.15.1"),
    "2025-05": dict(eg_version="v1.4.1", envoy_image="docker.io/envoyproxy/envoy:distroless-v1.34.1",
                    cm_version="v1.17.2", edns_version="v0.16.1"),
    "2025-10": dict(eg_version="v1.5.4", envoy_image="docker.io/envoyproxy/envoy:distroless-v1.35.3",
                    cm_version="v1.18.2", edns_version="v0.19.0"),
    "2026-03": dict(eg_version="v1.7.4", envoy_image="docker.io/envoyproxy/envoy:distroless-v1.37.0",
                    cm_version="v1.19.4", edns_version="v0.20.0"),
    "2026-07": dict(eg_version="v1.8.1", envoy_image="docker.io/envoyproxy/envoy:distroless-v1.37.2",
                    cm_version="v1.20.0", edns_version="v0.21.0"),
    "2026-11": dict(eg_version="v1.9.0", envoy_image="docker.io/envoyproxy/envoy:distroless-v1.38.0",
                    cm_version="v1.21.1", edns_version="v0.22.0"),
}


def stack(name: str, now: str, era: str, **kw: Any) -> Stack:
    params = dict(ERAS[era])
    params.update(kw)
    return Stack(name=name, now=T(now), **params)


def vtuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.lstrip("v").split("."))


# ----------------------------------------------------------------------------- world helpers

APP_HEADERS = {"x-envoy-upstream-service-time": "4"}


def app_page(title: str) -> str:
    return f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head><body><div id=\"app\"></div></body></html>\n"


def registry_txt(s: Stack, name: str, resource: str, owner: str | None = None) -> list[tuple[str, int, str, str]]:
    """external-dns TXT registry records for `name` (the format of its version, dns-acme.md §1.4)."""
    value = f'"heritage=external-dns,external-dns/owner={owner or s.edns_owner},external-dns/resource={resource}"'
    rel = name
    out = [(f"a-{rel}", 300, "TXT", value)]
    if vtuple(s.edns_version) < (0, 18, 0):
        out.append((rel, 300, "TXT", value))  # older releases also wrote the same-name format
    return out


def rel(s: Stack, fqdn: str) -> str:
    """`app.example.com` relative to the zone (`app`), `@` for the apex."""
    if fqdn == s.domain:
        return "@"
    return fqdn[: -len(s.domain) - 1]


def published(s: Stack, host: str | None = None, address: str | None = None, route: tuple[str, str] | None = None,
              owner: str | None = None) -> list[tuple[str, int, str, str]]:
    host = host or s.host
    ns, name = route or (s.app_ns, s.app_route)
    return [(rel(s, host), 300, "A", address or s.gw_ip)] + registry_txt(s, rel(s, host), f"httproute/{ns}/{name}", owner)


def edge_site(s: Stack, cert: Any, *, body: str | None = None, **kw: Any) -> Site:
    kw.setdefault("https_headers", APP_HEADERS)
    return Site(address=s.gw_ip, cert=cert, https_body=body if body is not None else app_page(s.app_service), **kw)


def healthy_world(s: Stack, cert: Any, *, records: list | None = None, **site: Any) -> World:
    return World(zone=s.domain, records=records if records is not None else published(s), sites=[edge_site(s, cert, **site)])


# ----------------------------------------------------------------------------- cluster edits


def listener_secret_message(s: Stack, sns: str, sname: str) -> str:
    """Envoy Gateway's ResolvedRefs message for a missing Secret (gateway-api.md §3.4)."""
    if vtuple(s.eg_version) < (1, 7, 0):
        return f"Secret {s.gw_ns}/{sname} does not exist."  # EG <= v1.6 prints the Gateway's namespace
    return f"No valid secrets exist: certificate refs 0: Secret {sns}/{sname} does not exist."


def break_https_listener(c: Cluster, s: Stack, reason: str, message: str, at: dt.datetime | None = None) -> None:
    """The HTTPS listener cannot load its certificate; on EG v1.2.0-v1.8.1 its routes are then
    not accepted either (NoReadyListeners, removed in v1.8.2)."""
    gw = c.get("Gateway", s.gw_ns, s.gw_name)
    t = at or s.at(minutes=1)
    for i, ls in enumerate(gw["status"]["listeners"]):
        if ls["name"] == "https":
            gw["status"]["listeners"][i] = st.listener_bad_cert("https", ls["attachedRoutes"], t, reason, message,
                                                                gw["metadata"]["generation"])
    if (1, 2, 0) <= vtuple(s.eg_version) <= (1, 8, 1):
        for r in c.of_kind("HTTPRoute"):
            for p in r["status"].get("parents") or []:
                if p["parentRef"].get("sectionName") == "https" and p["parentRef"].get("name") == s.gw_name:
                    p["conditions"][0] = cond("Accepted", "False", "NoReadyListeners",
                                              "There are no ready listeners for this parent ref", t, r["metadata"]["generation"])


def first_issuance(c: Cluster, s: Stack, *, started: dt.datetime, order_state: str | None = "pending",
                   order_reason: str | None = None, challenges: list[dict[str, Any]] | None = None,
                   cr_ready: tuple[str, str, str] | None = None, cert_issuing: tuple[str, str, str] | None = None,
                   issuer: str | None = None, failure: dt.datetime | None = None) -> None:
    """A Certificate that never got its Secret: revision 1 in flight, the listener without a certificate."""
    for kind, name in (("CertificateRequest", st.cr_name(s, s.revision)), ("Order", st.order_name(s, s.revision))):
        c.delete(kind, s.cert_ns, name)
    c.delete("Secret", s.cert_ns, s.secret_name)
    s.revision = 1
    cert = c.get("Certificate", s.cert_ns, s.cert_name)
    cert["metadata"]["creationTimestamp"] = ts(started - dt.timedelta(seconds=4))
    cert["status"] = {"conditions": [
        cond("Ready", "False", "DoesNotExist", "Issuing certificate as Secret does not exist", started),
        cond("Issuing", *(cert_issuing or ("True", "DoesNotExist", "Issuing certificate as Secret does not exist")), started),
    ]}
    if failure is not None:
        cert["status"]["lastFailureTime"] = ts(failure)
        cert["status"]["failedIssuanceAttempts"] = 1
    _in_flight(c, s, 1, started, order_state, order_reason, challenges, cr_ready, issuer, failure)
    break_https_listener(c, s, "InvalidCertificateRef", listener_secret_message(s, s.cert_ns, s.secret_name), started)


def renewal(c: Cluster, s: Stack, *, started: dt.datetime, order_state: str | None = "pending", order_reason: str | None = None,
            challenges: list[dict[str, Any]] | None = None, cr_ready: tuple[str, str, str] | None = None,
            issuing: tuple[str, str, str] | None = None, failure: dt.datetime | None = None, attempts: int | None = None) -> None:
    """The Certificate is Ready with its current revision; the next revision is in flight."""
    cert = c.get("Certificate", s.cert_ns, s.cert_name)
    renewal_time = cert["status"]["renewalTime"]
    cert["status"]["conditions"].append(cond(
        "Issuing", *(issuing or ("True", "Renewing", f"Renewing certificate as renewal was scheduled at {renewal_time}")), started))
    if failure is not None:
        cert["status"]["lastFailureTime"] = ts(failure)
        cert["status"]["failedIssuanceAttempts"] = attempts or 1
    _in_flight(c, s, s.revision + 1, started, order_state, order_reason, challenges, cr_ready, None, failure)


def _in_flight(c: Cluster, s: Stack, rev: int, started: dt.datetime, order_state: str | None, order_reason: str | None,
               challenges: list[dict[str, Any]] | None, cr_ready: tuple[str, str, str] | None, issuer: str | None,
               failure: dt.datetime | None) -> None:
    oname = st.order_name(s, rev)
    ready = cr_ready or ("False", "Pending", f'Waiting on certificate issuance from order {s.cert_ns}/{oname}: "{order_state or "pending"}"')
    c.put(st.certificate_request(s, rev, started, None, issuer=issuer, ready=ready,
                                 failure_time=failure if ready[1] == "Failed" else None))
    if order_state is not None:
        c.put(st.order(s, rev, started + dt.timedelta(seconds=1), None, state=order_state, reason=order_reason, issuer=issuer,
                       failure_time=failure if order_state in ("invalid", "errored") else None))
    for ch in challenges or []:
        c.put(st.challenge(s, rev, ch["dns_name"], started + dt.timedelta(seconds=2), state=ch.get("state", "pending"),
                           reason=ch.get("reason"), presented=ch.get("presented", True), processing=ch.get("processing", True),
                           issuer=issuer))


def both_challenges(s: Stack, first: dict[str, Any], second: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The wildcard and the apex name share `_acme-challenge.<apex>`: one Challenge each."""
    names = s.cert_names
    out = [{"dns_name": names[0], **first}]
    if len(names) > 1:
        out.append({"dns_name": names[1], **(second if second is not None else first)})
    return out


def acme_txt(s: Stack, names: list[str] | None = None, rev: int | None = None) -> list[tuple[str, int, str, str]]:
    rev = rev or s.revision
    out = []
    for n in names or s.cert_names:
        bare = n[2:] if n.startswith("*.") else n
        out.append((rel(s, f"_acme-challenge.{bare}") if bare != s.domain else "_acme-challenge", 120, "TXT",
                    f'"{st.challenge_key(s, n, rev)}"'))
    return out


CF_7003 = ('while querying the Cloudflare API for DELETE "/zones//dns_records/{rid}" \n\t Error: 7003: Could not route to '
           "/client/v4/zones/dns_records/{rid}, perhaps your object identifier is invalid?")


def no_ready_listeners(s: Stack) -> bool:
    """Envoy Gateway v1.2.0-v1.8.1 rejects routes whose listeners are not ready (NoReadyListeners)."""
    return (1, 2, 0) <= vtuple(s.eg_version) <= (1, 8, 1)


def refused_world(s: Stack, records: list | None = None, extra: list | None = None, **site: Any) -> World:
    """HTTPS is not served at all (the listener has no certificate); HTTP still redirects.

    When the routes are not accepted (NoReadyListeners), external-dns has nothing to publish
    (and with --policy=sync it removed what it had published).
    """
    if records is None:
        records = [] if no_ready_listeners(s) else published(s)
    return World(zone=s.domain, records=records + (extra or []), sites=[Site(address=s.gw_ip, tls="refuse", **site)])


# ============================================================================= healthy


@scenario("healthy-single-gateway", "one Gateway, wildcard certificate, DNS, HTTPS and the redirect all in order", OK, """
    What happened: nothing. A shop runs one Envoy Gateway with an http and an https listener for
    *.northwind.example, a wildcard Let's Encrypt certificate from cert-manager (DNS-01 on
    Cloudflare) and external-dns publishing the route's hostname. What the engineer sees: the
    storefront loads over HTTPS, http:// redirects with 301, every link of the chain passes. The
    reference point for the broken scenarios.""")
def _h1(pki: PKI):
    s = stack("healthy-single-gateway", "2026-11-18T09:12:00Z", "2026-11", domain="northwind.example",
              host="shop.northwind.example", gw_ns="gateway", gw_name="public", app_ns="shop", app_route="storefront",
              app_service="storefront", edns_owner="northwind-prod", context="northwind-prod")
    c, cert = st.build(s, pki)
    return s, c, healthy_world(s, cert, body=app_page("Northwind Traders - Shop"))


@scenario("healthy-two-gateways", "external and internal Gateways with their own addresses; the host is on the external one", OK, """
    What happened: nothing. The platform team runs two Gateways of one GatewayClass: `external`
    for *.fabrikam.example on a public LoadBalancer address and `internal` for
    *.int.fabrikam.example on a private one, each with its own wildcard certificate. What the
    engineer sees: api.fabrikam.example resolves to the external address, serves the external
    wildcard certificate and redirects http:// to https://; the internal Gateway, its routes and
    its certificate are left alone.""")
def _h2(pki: PKI):
    s = stack("healthy-two-gateways", "2026-03-09T14:40:00Z", "2026-03", domain="fabrikam.example", host="api.fabrikam.example",
              gatewayclass="envoy", gw_ns="infra-gw", gw_name="external", gw_ip="198.51.100.24", app_ns="orders",
              app_route="orders-api", app_service="orders-api", app_port=8080, app_target_port=8080, gitops="argocd",
              edns_owner="fabrikam-prd", context="fabrikam-prd-weu", edns_extra=["--gateway-label-filter=exposure=public"])
    c, cert = st.build(s, pki)
    # The internal Gateway: its own listener hostname, address, certificate and route.
    si = Stack(name=s.name + "/internal", now=s.now, domain="int.fabrikam.example", host="grafana.int.fabrikam.example",
               gatewayclass="envoy", gw_ns="infra-gw", gw_name="internal", gw_ip="10.40.0.21", eg_version=s.eg_version,
               envoy_image=s.envoy_image, cm_version=s.cm_version, app_ns="monitoring", app_route="grafana",
               app_service="grafana", app_port=3000, app_target_port=3000, gitops="argocd", redirect_route="internal-https-redirect",
               cert_issued=s.at(days=33), edns=False, dns_zones=["fabrikam.example"])
    ci, _ = st.build(si, pki)
    for o in ci.items():
        k = Cluster.key(o)
        if k[0] in ("Gateway", "Service", "Deployment", "HTTPRoute", "EndpointSlice", "Certificate", "CertificateRequest",
                    "Order", "Secret", "Namespace") and k not in c.objs:
            if k[0] == "Deployment" and not o["metadata"]["name"].startswith("envoy-infra-gw-internal"):
                continue
            c.put(o)
    c.get("Gateway", s.gw_ns, s.gw_name)["metadata"]["labels"]["exposure"] = "public"
    c.get("Gateway", "infra-gw", "internal")["metadata"]["labels"]["exposure"] = "internal"
    return s, c, healthy_world(s, cert, body='{"service":"orders-api","status":"ok"}\n')


@scenario("healthy-expiring-renewing", "the served certificate is inside its renewal window and the renewal is under way", OK, """
    What happened: the wildcard certificate of *.example.org reached its renewal time
    (renewBefore 360h) twenty minutes ago; cert-manager created revision 5, the Order is pending
    and both DNS-01 Challenges are presented, their TXT record already at the authoritative
    servers, waiting out the propagation self-check. What the engineer sees: a monitoring probe
    warns "certificate expires in 15 days", but issuance is progressing normally: nothing to do,
    the new certificate lands within minutes.""")
def _h3(pki: PKI):
    now = T("2026-07-21T06:30:00Z")
    s = stack("healthy-expiring-renewing", ts(now), "2026-07", domain="example.org", host="docs.example.org",
              gw_ns="edge", gw_name="edge", gatewayclass="envoy-gateway", gw_ip="203.0.113.80", app_ns="docs",
              app_route="docs-site", app_service="docs-site", revision=4, cert_issued=now - dt.timedelta(days=75, minutes=20),
              edns_owner="org-edge", context="edge-prod", landing=True, landing_ns="www", landing_route="landing")
    c, cert = st.build(s, pki)
    renewal(c, s, started=s.at(minutes=4), challenges=both_challenges(
        s, {"reason": 'Waiting for DNS-01 challenge propagation: DNS record for "example.org" not yet propagated'}))
    records = published(s) + acme_txt(s, rev=s.revision + 1)
    return s, c, healthy_world(s, cert, records=records, body=app_page("Example Docs"))


# ============================================================================= seeds: cert-issuance


@scenario("cert-manager-7003-cleanup", "Cloudflare error 7003 on challenge cleanup (cert-manager v1.16.3): the renewal never completes",
          warn("cert-cloudflare-7003-cleanup", "cert-issuance"), """
    What happened: early February 2025 Cloudflare stopped returning zone_id on DNS records, and
    cert-manager before v1.16.4 built its cleanup URL from it: DELETE /zones//dns_records/<id>
    fails with error 7003. The renewal of *.contoso.example validated the wildcard's Challenge,
    cannot delete its TXT record, so the Challenge stays processing and the apex Challenge for the
    same _acme-challenge name is never scheduled. What the engineer sees: the Certificate has been
    Issuing for two days, the Order stays pending, the served certificate has 13 days left and
    the leftover TXT records pile up in Cloudflare. Fix: upgrade cert-manager to v1.16.4+, delete
    the leaked TXT records, clean up this Certificate's stuck Order, re-trigger.""")
def _seed_7003(pki: PKI):
    now = T("2025-02-05T08:20:00Z")
    s = stack("cert-manager-7003-cleanup", ts(now), "2025-02", domain="contoso.example", host="portal.contoso.example",
              gw_ns="gateway-system", gw_name="contoso-public", gatewayclass="eg", gw_ip="203.0.113.45", app_ns="portal",
              app_route="portal", app_service="portal-web", renew_before=None, revision=6,
              cert_issued=now - dt.timedelta(days=77), edns_owner="contoso-k8s", context="contoso-prod-1")
    c, cert = st.build(s, pki)
    started = now - dt.timedelta(days=2, hours=3)
    renewal(c, s, started=started, challenges=both_challenges(
        s, {"state": "valid", "presented": True, "processing": True, "reason": CF_7003.format(rid="5b0c2e4a9d7f41e8b3a6c1d2e9f08a7b")},
        {"state": "pending", "presented": False, "processing": False, "reason": None}))
    # The wildcard's record leaked; the apex one was never presented.
    records = published(s) + acme_txt(s, names=[s.cert_names[0]], rev=s.revision + 1)
    return s, c, healthy_world(s, cert, records=records, body=app_page("Contoso Portal"))


@scenario("cert-secret-name-mismatch", "the Certificate writes Secret billing-tls, the listener asks for billing-example-net-tls",
          crit("cert-secret-name-mismatch", "cert-issuance"), """
    What happened: during a rename the listener's certificateRefs became billing-example-net-tls
    while the Certificate kept secretName billing-tls. cert-manager is happy (Ready, its Secret
    exists), Envoy Gateway finds no Secret under the name it was given and drops the HTTPS
    listener. What the engineer sees: HTTPS connections to the Gateway are refused, http://
    still redirects, and every cert-manager object reports Ready.""")
def _seed_name_mismatch(pki: PKI):
    s = stack("cert-secret-name-mismatch", "2026-04-14T10:05:00Z", "2026-03", domain="example.net", host="billing.example.net",
              gw_ns="gateway", gw_name="external", gw_ip="203.0.113.61", app_ns="billing", app_route="invoice-api",
              app_service="invoice-api", app_port=8080, app_target_port=8080, cert_names=["billing.example.net"],
              cert_name="billing", secret_name="billing-tls", listener_hostname="*.example.net", edns_owner="billing-prod",
              context="billing-prod")
    c, cert = st.build(s, pki)
    gw = c.get("Gateway", s.gw_ns, s.gw_name)
    gw["spec"]["listeners"][1]["tls"]["certificateRefs"][0]["name"] = "billing-example-net-tls"
    gw["metadata"]["generation"] = 3
    break_https_listener(c, s, "InvalidCertificateRef", listener_secret_message(s, s.gw_ns, "billing-example-net-tls"))
    return s, c, refused_world(s)


@scenario("cert-refgrant-missing", "the listener uses a Secret in namespace certs with no ReferenceGrant that allows it",
          crit("cert-refgrant-missing", "cert-issuance"), """
    What happened: the team moved all Certificates into a `certs` namespace and pointed the
    listener's certificateRefs there. The ReferenceGrant they wrote allows HTTPRoutes, not
    Gateways, to read Secrets there. What the engineer sees: Envoy Gateway marks the HTTPS
    listener RefNotPermitted and stops serving 443; the Certificate is Ready and its Secret holds
    a valid certificate.""")
def _seed_refgrant(pki: PKI):
    s = stack("cert-refgrant-missing", "2025-10-22T16:45:00Z", "2025-10", domain="tailspin.example", host="booking.tailspin.example",
              gw_ns="networking", gw_name="public-gw", gatewayclass="envoy", gw_ip="192.0.2.77", cert_ns="certs",
              app_ns="booking", app_route="booking-web", app_service="booking-web", edns_owner="tailspin",
              context="tailspin-prod")
    c, cert = st.build(s, pki)
    c.put({
        "apiVersion": "gateway.networking.k8s.io/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": st._meta(s, "ReferenceGrant", "allow-routes-to-certs", "certs", s.at(days=3)),
        "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "networking"}],
                 "to": [{"group": "", "kind": "Secret"}]},
    })
    msg = f"Certificate ref to secret certs/{s.secret_name} not permitted by any ReferenceGrant."
    break_https_listener(c, s, "RefNotPermitted", msg)
    return s, c, refused_world(s)


@scenario("cert-cloudflare-token-zone-read", "the Cloudflare API token has DNS:Edit but not Zone:Read; cert-manager cannot list zones",
          crit("cert-cloudflare-token-permission", "cert-issuance"), """
    What happened: a new environment got a fresh Cloudflare API token, created with the "Edit zone
    DNS" template scoped to one zone but without Zone:Read. cert-manager's Cloudflare solver looks
    the zone up with GET /zones?name=... and is refused
    (com.cloudflare.api.account.zone.list). What the engineer sees: the first certificate of
    *.staging.wingtip.example never arrives, the Challenges sit pending and not presented, and
    HTTPS to the new Gateway is refused.""")
def _seed_token(pki: PKI):
    now = T("2026-11-25T11:30:00Z")
    s = stack("cert-cloudflare-token-zone-read", ts(now), "2026-11", domain="wingtip.example", host="app.staging.wingtip.example",
              listener_hostname="*.staging.wingtip.example", cert_names=["*.staging.wingtip.example", "staging.wingtip.example"],
              cert_name="wildcard-staging", gw_ns="gateway", gw_name="staging", gw_ip="203.0.113.112", app_ns="wingtip-app",
              app_route="web", app_service="web", edns_owner="wingtip-staging", context="wingtip-staging",
              cf_token_secret="cloudflare-dns-token", cf_token_key="token")
    c, _ = st.build(s, pki)
    reason = ('while querying the Cloudflare API for GET "/zones?name=staging.wingtip.example" \n\t Error: 0: Actor '
              "'com.cloudflare.api.token.8c1f5d0b2e4a4f6c9a3b7d1e5f0a2c4b' requires permission "
              "'com.cloudflare.api.account.zone.list' to list zones")
    first_issuance(c, s, started=now - dt.timedelta(minutes=47), challenges=both_challenges(
        s, {"state": "pending", "presented": False, "processing": True, "reason": reason}))
    return s, c, refused_world(s)


@scenario("cert-solver-dnszones-subzone", "the ClusterIssuer's dnsZones names apps.example.co.uk, which does not select example.co.uk names",
          crit("cert-solver-no-match", "cert-issuance"), """
    What happened: the ClusterIssuers were copied from a cluster whose DNS lived in a delegated
    zone apps.example.co.uk; here the Cloudflare zone is example.co.uk and the Certificate asks
    for *.example.co.uk and example.co.uk. The selector dnsZones: [apps.example.co.uk] selects
    only names under apps.example.co.uk, so no solver matches, cert-manager creates no Challenge
    and the Order waits. What the engineer sees: an Order pending for hours with a Warning event
    "Failed to determine a valid solver configuration", no Challenges at all, HTTPS refused.""")
def _seed_solver(pki: PKI):
    now = T("2025-05-19T13:10:00Z")
    s = stack("cert-solver-dnszones-subzone", ts(now), "2025-05", domain="example.co.uk", host="www.example.co.uk",
              gw_ns="edge", gw_name="gateway", gatewayclass="eg", gw_ip="203.0.113.140", app_ns="marketing",
              app_route="website", app_service="website", edns_owner="uk-web", context="uk-web-prod",
              issuer_prod="le-production", issuer_staging="le-staging", dns_zones=["apps.example.co.uk"])
    c, _ = st.build(s, pki)
    first_issuance(c, s, started=now - dt.timedelta(hours=3, minutes=12), challenges=[])
    # external-dns has its own filter, not the issuer's selector
    dep = c.get("Deployment", s.edns_ns, "external-dns")
    args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
    dep["spec"]["template"]["spec"]["containers"][0]["args"] = [a if a != "--domain-filter=apps.example.co.uk" else "--domain-filter=example.co.uk" for a in args]
    return s, c, refused_world(s)


@scenario("cert-staging-in-production", "the production edge serves a Let's Encrypt (STAGING) certificate",
          warn("cert-staging-issuer", "cert-issuance"), """
    What happened: the Certificate was created against letsencrypt-staging while the rollout was
    tested and nobody switched issuerRef to letsencrypt-prod at go-live. Everything is Ready. What
    the engineer sees: browsers show "not secure" with an issuer "(STAGING) Ersatz Emmer YR2",
    curl needs -k, the status page is green.""")
def _seed_staging(pki: PKI):
    s = stack("cert-staging-in-production", "2025-10-02T07:55:00Z", "2025-10", domain="adventure-works.example",
              host="store.adventure-works.example", gw_ns="envoy-gateway-system", gw_name="eg", gatewayclass="eg",
              gw_ip="192.0.2.140", app_ns="store", app_route="store-frontend", app_service="store-frontend",
              cert_issuer_ca="le-staging-yr2", edns_owner="aw-prod", context="aw-prod", gitops="argocd")
    c, cert = st.build(s, pki)
    crt = c.get("Certificate", s.cert_ns, s.cert_name)
    crt["spec"]["issuerRef"]["name"] = s.issuer_staging
    for kind, name in (("CertificateRequest", st.cr_name(s, s.revision)), ("Order", st.order_name(s, s.revision))):
        o = c.get(kind, s.cert_ns, name)
        o["spec"]["issuerRef"]["name"] = s.issuer_staging
    o = c.get("Order", s.cert_ns, st.order_name(s, s.revision))
    o["status"] = {**o["status"], **{k: v.replace("acme-v02", "acme-staging-v02") for k, v in o["status"].items() if isinstance(v, str)}}
    sec = c.get("Secret", s.cert_ns, s.secret_name)
    sec["metadata"]["annotations"]["cert-manager.io/issuer-name"] = s.issuer_staging
    return s, c, healthy_world(s, cert, body=app_page("Adventure Works Store"))


# ============================================================================= seeds: dns-sync


@scenario("dns-propagation-lag", "the record is at the authoritative servers; the resolver still has NXDOMAIN cached",
          crit("dns-propagation", "dns-sync"), """
    What happened: a new route for status.litware.example went live; someone tested the name
    before external-dns had created the record, and the resolver cached the NXDOMAIN for the
    zone's negative TTL (1800 s at Cloudflare). external-dns created the record two minutes later.
    What the engineer sees: dig @1.1.1.1 says NXDOMAIN, dig at the authoritative server answers the
    Gateway's address; the Gateway, route and certificate are all fine. Wait out the negative TTL.""")
def _seed_propagation(pki: PKI):
    s = stack("dns-propagation-lag", "2026-07-08T19:03:00Z", "2026-07", domain="litware.example", host="status.litware.example",
              gw_ns="gateway", gw_name="public", gw_ip="203.0.113.166", app_ns="statuspage", app_route="status",
              app_service="statuspage", edns_owner="litware-prod", context="litware-prod")
    c, cert = st.build(s, pki)
    route = c.get("HTTPRoute", s.app_ns, s.app_route)
    route["metadata"]["creationTimestamp"] = ts(s.at(minutes=6))
    route["status"]["parents"][0]["conditions"][0]["lastTransitionTime"] = ts(s.at(minutes=6))
    w = healthy_world(s, cert, body=app_page("Litware Status"))
    w.resolver_records = []  # the resolver answers from the zone as it was before the record
    w.resolver_serial = w.serial - 1
    return s, c, w


@scenario("external-dns-ingress-only", "external-dns watches Ingress and Service only: the migrated HTTPRoute host gets no record",
          crit("dns-no-record", "dns-sync"), """
    What happened: the team migrated from ingress-nginx to Envoy Gateway; the app's Ingress became
    an HTTPRoute, but external-dns still runs with --source=ingress --source=service, so it never
    looks at HTTPRoutes. The old record went away with the Ingress. What the engineer sees: the
    route is Accepted, the Gateway has its address and certificate, curl --resolve to the Gateway
    works, and the name answers NXDOMAIN everywhere.""")
def _seed_edns_source(pki: PKI):
    s = stack("external-dns-ingress-only", "2025-05-27T09:41:00Z", "2025-05", domain="proseware.example",
              host="api.proseware.example", gw_ns="ingress", gw_name="envoy-public", gw_ip="203.0.113.201", app_ns="api",
              app_route="public-api", app_service="public-api", app_port=8080, app_target_port=8080,
              edns_sources=["ingress", "service"], edns_owner="proseware-eks", context="proseware-eks")
    c, cert = st.build(s, pki)
    return s, c, healthy_world(s, cert, records=[], body='{"status":"ok"}\n')


def k8s_gateway_mounts(dep: dict[str, Any]) -> dict[str, Any]:
    """The chart mounts its Corefile ConfigMap (named as the release) at /etc/coredns."""
    pod = dep["spec"]["template"]["spec"]
    pod["volumes"] = [{"name": "config-volume", "configMap": {"name": dep["metadata"]["name"],
                                                              "items": [{"key": "Corefile", "path": "Corefile"}]}}]
    pod["containers"][0]["volumeMounts"] = [{"name": "config-volume", "mountPath": "/etc/coredns"}]
    return dep


@scenario("k8s-gateway-no-httproute", "k8s_gateway serves the zone inside the network but does not watch HTTPRoute",
          crit("dns-internal-split-horizon", "dns-sync"), """
    What happened: in-cluster and VPN clients resolve woodgrove.example through k8s_gateway (the
    maintained fork, v1.8.2), whose Corefile lists no resources, so it watches only Ingress and
    Service. Public DNS is fine. What the engineer sees: from a laptop on the internet the site
    works; from a Pod or over the VPN the name is NXDOMAIN (with k8s_gateway's 60 s SOA), so
    service-to-service calls through the public name fail.""")
def _seed_k8s_gateway(pki: PKI):
    s = stack("k8s-gateway-no-httproute", "2026-11-03T08:15:00Z", "2026-11", domain="woodgrove.example",
              host="online.woodgrove.example", gw_ns="gateway", gw_name="external", gw_ip="198.51.100.90", app_ns="banking",
              app_route="online-banking", app_service="online-banking", edns_owner="woodgrove", context="woodgrove-aks")
    c, cert = st.build(s, pki)
    c.put(st.namespace(s, "kube-system"))
    c.put(k8s_gateway_mounts(st.deployment(s, "kube-system", "k8s-gateway", {"app.kubernetes.io/name": "k8s-gateway", "app.kubernetes.io/instance": "k8s-gateway"},
                        [{"name": "k8s-gateway", "image": "quay.io/k8s-gateway/k8s_gateway:v1.8.2", "args": ["-conf", "/etc/coredns/Corefile"]}],
                        replicas=2, extra_labels={"app.kubernetes.io/version": "1.8.2", "helm.sh/chart": "k8s-gateway-3.5.2"})))
    c.put({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": st._meta(s, "ConfigMap", "k8s-gateway", "kube-system", s.at(days=90), generation=None,
                                labels={"app.kubernetes.io/name": "k8s-gateway"}),
           "data": {"Corefile": ".:1053 {\n    errors\n    log\n    ready\n    health {\n        lameduck 5s\n    }\n"
                                "    prometheus 0.0.0.0:9153\n    k8s_gateway woodgrove.example {\n        apex k8s-gateway.kube-system\n"
                                "        ttl 300\n    }\n    loop\n    reload\n    loadbalance\n}\n"}})
    return s, c, healthy_world(s, cert, body=app_page("Woodgrove Online Banking"))


# ============================================================================= seeds: app-routing


@scenario("proxy-protocol-envoy-only", "a ClientTrafficPolicy makes Envoy require PROXY protocol; the Hetzner LB does not send it",
          crit("proxy-protocol-mismatch", "app-routing"), """
    What happened: to get client IPs in the logs someone added a ClientTrafficPolicy with
    proxyProtocol on the Gateway, but the EnvoyProxy that sets the load balancer's annotations
    was not changed, so the Hetzner LB still forwards plain TCP. What the engineer sees: every
    connection is closed before the TLS handshake completes and http:// gets no answer; a probe
    that prepends a PROXY header gets the certificate at once.""")
def _seed_proxy(pki: PKI):
    s = stack("proxy-protocol-envoy-only", "2025-10-28T21:12:00Z", "2025-10", domain="fourth-coffee.example",
              host="order.fourth-coffee.example", gw_ns="gateway", gw_name="eg-public", gw_ip="203.0.113.18", app_ns="orders",
              app_route="order-web", app_service="order-web", edns_owner="fc-hel1", context="fc-hel1")
    c, cert = st.build(s, pki)
    c.put({
        "apiVersion": "gateway.envoyproxy.io/v1alpha1",
        "kind": "ClientTrafficPolicy",
        "metadata": st._meta(s, "ClientTrafficPolicy", "client-ip", s.gw_ns, s.at(minutes=25), labels=st.gitops_labels(s, "gateway-config")),
        "spec": {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": s.gw_name}],
                 "proxyProtocol": {},
                 "clientIPDetection": {"xForwardedFor": {"numTrustedHops": 1}}},
        "status": {"ancestors": [{"ancestorRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": s.gw_name, "namespace": s.gw_ns},
                                  "controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
                                  "conditions": [cond("Accepted", "True", "Accepted", "Policy has been accepted.", s.at(minutes=25))]}]},
    })
    c.put({
        "apiVersion": "gateway.envoyproxy.io/v1alpha1",
        "kind": "EnvoyProxy",
        "metadata": st._meta(s, "EnvoyProxy", "hetzner-lb", s.eg_ns, s.at(days=120)),
        "spec": {"provider": {"type": "Kubernetes", "kubernetes": {"envoyService": {"annotations": {
            "load-balancer.hetzner.cloud/location": "hel1", "load-balancer.hetzner.cloud/use-private-ip": "true"}}}}},
    })
    c.get("GatewayClass", "", s.gatewayclass)["spec"]["parametersRef"] = {
        "group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": "hetzner-lb", "namespace": s.eg_ns}
    svc = c.get("Service", s.envoy_ns, s.envoy_name)
    svc["metadata"]["annotations"] = {"load-balancer.hetzner.cloud/location": "hel1", "load-balancer.hetzner.cloud/use-private-ip": "true"}
    w = healthy_world(s, cert, body=app_page("Fourth Coffee - Order"), proxy_protocol=True)
    return s, c, w


@scenario("landing-page-instead-of-app", "the app's route names a Gateway that does not exist; the *.domain landing route answers",
          crit("route-shadowed-by-wildcard", "app-routing"), """
    What happened: the app's HTTPRoute was templated with parentRefs name `public-gateway`, but the
    Gateway is called `public`. No controller picks the route up (no status.parents), so the
    landing-page route for *.example.com, published by external-dns as a wildcard record, answers
    for the app's hostname too. What the engineer sees: https://careers.example.com loads with a
    valid certificate and shows the company landing page instead of the careers app; no error
    anywhere, which is why it looks like an application bug.""")
def _seed_landing(pki: PKI):
    s = stack("landing-page-instead-of-app", "2026-11-12T15:22:00Z", "2026-11", domain="example.com", host="careers.example.com",
              gw_ns="gateway", gw_name="public", gw_ip="203.0.113.10", app_ns="careers", app_route="careers",
              app_service="careers-web", landing=True, landing_ns="web", landing_route="landing", landing_service="landing",
              edns_owner="corp-prod", context="corp-prod")
    c, cert = st.build(s, pki)
    r = c.get("HTTPRoute", s.app_ns, s.app_route)
    r["spec"]["parentRefs"] = [{"name": "public-gateway", "namespace": s.gw_ns, "sectionName": "https"}]
    r["status"] = {"parents": []}
    r["metadata"]["creationTimestamp"] = ts(s.at(hours=5))
    gw = c.get("Gateway", s.gw_ns, s.gw_name)
    gw["status"]["listeners"][1]["attachedRoutes"] = 1
    records = [("*", 300, "A", s.gw_ip), ("a-*", 300, "TXT",
               f'"heritage=external-dns,external-dns/owner={s.edns_owner},external-dns/resource=httproute/{s.landing_ns}/{s.landing_route}"')]
    return s, c, healthy_world(s, cert, records=records, body=app_page("Example Corp - Welcome"), https_headers=APP_HEADERS)


@scenario("http-not-redirecting", "the app route attaches to the http listener too and outranks the redirect: http:// serves the app",
          warn("redirect-missing", "app-routing"), """
    What happened: the http listener allows routes from all namespaces, and the new app route has
    no sectionName, so it attaches to both listeners. On port 80 its specific hostname beats the
    hostname-less redirect route, so http:// serves the app in clear text instead of redirecting.
    What the engineer sees: HTTPS is fine; a security scan flags http://grafana.example.net
    answering 200 with the login page; the redirect route is Accepted.""")
def _seed_redirect(pki: PKI):
    s = stack("http-not-redirecting", "2025-05-06T12:00:00Z", "2025-05", domain="example.net", host="grafana.example.net",
              gw_ns="platform-gw", gw_name="platform", gw_ip="192.0.2.33", app_ns="monitoring", app_route="grafana",
              app_service="grafana", app_port=3000, app_target_port=3000, http_from_same=False, edns_owner="platform",
              context="platform-prod")
    c, cert = st.build(s, pki)
    r = c.get("HTTPRoute", s.app_ns, s.app_route)
    r["spec"]["parentRefs"] = [{"name": s.gw_name, "namespace": s.gw_ns}]
    r["status"]["parents"] = [st.route_parent(s.gw_name, s.gw_ns, None, s.at(days=3))]
    gw = c.get("Gateway", s.gw_ns, s.gw_name)
    gw["status"]["listeners"][0]["attachedRoutes"] = 2
    body = app_page("Grafana")
    return s, c, healthy_world(s, cert, body=body, http="serve", http_body=body, http_headers=APP_HEADERS)


# ============================================================================= app-routing


@scenario("gatewayclass-no-controller", "Envoy Gateway was never deployed: the GatewayClass waits for a controller",
          crit("gatewayclass-not-accepted", "app-routing"), """
    What happened: in a new cluster the Flux Kustomization for Envoy Gateway exists but the parent
    kustomization does not reference it, so the controller was never installed. The GatewayClass,
    the Gateway and the routes are applied and sit at "Waiting for controller"; external-dns has
    nothing Accepted to publish. What the engineer sees: the name does not resolve, there is no
    Gateway address, no envoy Service, and kubectl get gatewayclass shows ACCEPTED Unknown.""")
def _gc(pki: PKI):
    s = stack("gatewayclass-no-controller", "2026-03-30T10:20:00Z", "2026-03", domain="contoso.example", host="intranet.contoso.example",
              gw_ns="gateway", gw_name="external", gw_ip="203.0.113.99", app_ns="intranet", app_route="intranet",
              app_service="intranet", edns_owner="contoso-eu2", context="contoso-eu2")
    c, _ = st.build(s, pki)
    gc = c.get("GatewayClass", "", s.gatewayclass)
    t = s.at(days=2)
    gc["status"] = {"conditions": [cond("Accepted", "Unknown", "Pending", "Waiting for controller", T("1970-01-01T00:00:00Z"), None)]}
    gw = c.get("Gateway", s.gw_ns, s.gw_name)
    gw["status"] = {"conditions": [cond("Accepted", "Unknown", "Pending", "Waiting for controller", T("1970-01-01T00:00:00Z"), None),
                                   cond("Programmed", "Unknown", "Pending", "Waiting for controller", T("1970-01-01T00:00:00Z"), None)]}
    for r in c.of_kind("HTTPRoute"):
        r["status"] = {"parents": []}
    for kind, ns, name in (("Service", s.envoy_ns, s.envoy_name), ("Deployment", s.envoy_ns, s.envoy_name),
                           ("Deployment", s.eg_ns, "envoy-gateway")):
        c.delete(kind, ns, name)
    _ = t
    return s, c, World(zone=s.domain, records=[], sites=[])


@scenario("gateway-no-address-metallb", "MetalLB has no free address: the Envoy Service stays <pending>, the Gateway has none",
          crit("gateway-no-address", "app-routing"), """
    What happened: a second Gateway was added for a new brand and MetalLB's pool of two addresses
    was already used. The Envoy LoadBalancer Service stays <pending>, so Envoy Gateway reports
    Programmed=False AddressNotAssigned and external-dns has no target to publish. What the
    engineer sees: NXDOMAIN for the new name, `kubectl get gateway` shows no ADDRESS, nothing to
    connect to.""")
def _no_addr(pki: PKI):
    s = stack("gateway-no-address-metallb", "2025-10-14T09:00:00Z", "2025-10", domain="tailspin.example", host="toys.tailspin.example",
              gw_ns="brands", gw_name="tailspin-toys", gw_ip="192.0.2.250", app_ns="toys", app_route="toys-web",
              app_service="toys-web", edns_owner="tailspin-onprem", context="onprem-k3s", gateway_namespace_mode=True)
    c, _ = st.build(s, pki)
    gw = c.get("Gateway", s.gw_ns, s.gw_name)
    gw["status"].pop("addresses")
    gw["status"]["conditions"][1] = cond("Programmed", "False", "AddressNotAssigned", "No addresses have been assigned to the Gateway",
                                         s.at(hours=2), 2)
    svc = c.get("Service", s.envoy_ns, s.envoy_name)
    svc["status"] = {"loadBalancer": {}}
    svc["metadata"]["annotations"] = {"metallb.universe.tf/address-pool": "public"}
    return s, c, World(zone=s.domain, records=[], sites=[])


@scenario("gateway-envoy-replicas-unavailable", "the Envoy data plane has no ready replica (image pull failure): Programmed=False",
          crit("gateway-not-programmed", "app-routing"), """
    What happened: the EnvoyProxy was changed to pull the proxy image from a private registry
    mirror without an imagePullSecret; the rollout replaced the running Pods with ones stuck in
    ImagePullBackOff. Envoy Gateway reports Programmed=False, "Envoy replicas unavailable". The
    LoadBalancer keeps its address. What the engineer sees: DNS is right, but every connection to
    the address is refused, for HTTP and HTTPS.""")
def _not_prog(pki: PKI):
    s = stack("gateway-envoy-replicas-unavailable", "2026-07-15T02:47:00Z", "2026-07", domain="example.org", host="checkout.example.org",
              gw_ns="edge", gw_name="prod", gatewayclass="eg", gw_ip="198.51.100.140", app_ns="payments", app_route="checkout",
              app_service="checkout", app_port=8443, app_target_port=8443, edns_owner="org-prod", context="org-prod-use1",
              envoy_image="registry.internal.example.org/mirror/envoyproxy/envoy:distroless-v1.37.2")
    c, cert = st.build(s, pki)
    gw = c.get("Gateway", s.gw_ns, s.gw_name)
    gw["status"]["conditions"][1] = cond("Programmed", "False", "NoResources", "Envoy replicas unavailable", s.at(minutes=18), 2)
    dep = c.get("Deployment", s.envoy_ns, s.envoy_name)
    dep["status"] = {"observedGeneration": 4, "replicas": 2, "updatedReplicas": 2, "unavailableReplicas": 2, "conditions": [
        {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability.",
         "lastUpdateTime": ts(s.at(minutes=18)), "lastTransitionTime": ts(s.at(minutes=18))},
        {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
         "message": f'ReplicaSet "{s.envoy_name}-7f9c6d4b8d" is progressing.', "lastUpdateTime": ts(s.at(minutes=19)),
         "lastTransitionTime": ts(s.at(minutes=19))}]}
    return s, c, World(zone=s.domain, records=published(s), sites=[Site(address=s.gw_ip, tls="refuse", http="refuse")])


@scenario("listener-no-match-new-domain", "the host is in a second domain no listener of any Gateway serves",
          crit("listener-no-match", "app-routing"), """
    What happened: marketing bought contoso-events.example and created a DNS record by hand
    pointing at the existing Gateway; the Gateway's listeners only serve *.contoso.example. What
    the engineer sees: the name resolves to the Gateway, the TLS handshake is dropped (no filter
    chain for that SNI) and http:// answers 404.""")
def _no_listener(pki: PKI):
    s = stack("listener-no-match-new-domain", "2026-03-17T08:30:00Z", "2026-03", domain="contoso.example",
              host="www.contoso-events.example", gw_ns="gateway", gw_name="external", gw_ip="203.0.113.99", app_ns="events",
              app_route="events-site", app_service="events-site", edns_owner="contoso-eu2", context="contoso-eu2")
    c, _ = st.build(s, pki)
    r = c.get("HTTPRoute", s.app_ns, s.app_route)
    r["spec"]["hostnames"] = ["events.contoso.example"]
    w = World(zone="contoso-events.example", records=[("www", 300, "A", s.gw_ip)],
              sites=[Site(address=s.gw_ip, tls="close", http="serve", http_status=404, http_body="")])
    return s, c, w


@scenario("route-missing-new-service", "a new service was deployed without an HTTPRoute; a hand-made wildcard record points at the Gateway",
          crit("route-missing", "app-routing"), """
    What happened: the reports service was deployed with its Service and Deployment, but the
    HTTPRoute was left out of the Helm values. DNS resolves through a *.fabrikam.example record an
    admin created in Cloudflare long ago. What the engineer sees: the certificate is valid, and
    https://reports.fabrikam.example answers 404 with an empty body from Envoy.""")
def _route_missing(pki: PKI):
    s = stack("route-missing-new-service", "2026-07-02T11:45:00Z", "2026-07", domain="fabrikam.example", host="reports.fabrikam.example",
              gw_ns="infra-gw", gw_name="external", gatewayclass="envoy", gw_ip="198.51.100.24", app_ns="bi", app_route="dashboards",
              app_service="dashboards", edns_owner="fabrikam-prd", context="fabrikam-prd-weu", gitops="argocd")
    c, cert = st.build(s, pki)
    r = c.get("HTTPRoute", s.app_ns, s.app_route)
    r["spec"]["hostnames"] = ["dashboards.fabrikam.example"]
    c.put(st.service(s, "bi", "reports", 80, 8080, "reports"))
    c.put(st.endpointslice(s, "bi", "reports", 8080, ["10.244.4.12"]))
    records = published(s, host="dashboards.fabrikam.example") + [("*", 3600, "A", s.gw_ip)]
    return s, c, healthy_world(s, cert, records=records, https_status=404, body="", https_headers={})


@scenario("route-not-accepted-sectionname", "the route's parentRef sectionName `https` no longer exists after the listener was renamed",
          crit("route-not-accepted", "app-routing"), """
    What happened: the platform team renamed the Gateway's listeners to websecure/web (Traefik
    habit) in one commit; app routes still say sectionName: https. Envoy Gateway marks them
    NoMatchingParent. external-dns runs with --policy=upsert-only, so the record stays. What the
    engineer sees: DNS and the certificate are fine, https:// answers 404 and the route says
    "No listeners match this parent ref".""")
def _not_accepted(pki: PKI):
    s = stack("route-not-accepted-sectionname", "2025-05-13T17:25:00Z", "2025-05", domain="litware.example", host="crm.litware.example",
              gw_ns="gateway", gw_name="public", gw_ip="203.0.113.166", app_ns="crm", app_route="crm", app_service="crm-frontend",
              edns_owner="litware-prod", edns_policy="upsert-only", context="litware-prod")
    c, cert = st.build(s, pki)
    gw = c.get("Gateway", s.gw_ns, s.gw_name)
    gw["spec"]["listeners"][0]["name"] = "web"
    gw["spec"]["listeners"][1]["name"] = "websecure"
    gw["status"]["listeners"][0]["name"] = "web"
    gw["status"]["listeners"][1]["name"] = "websecure"
    gw["status"]["listeners"][1]["attachedRoutes"] = 0
    rr = c.get("HTTPRoute", s.gw_ns, s.redirect_route)
    rr["spec"]["parentRefs"][0]["sectionName"] = "web"
    rr["status"]["parents"][0]["parentRef"]["sectionName"] = "web"
    r = c.get("HTTPRoute", s.app_ns, s.app_route)
    r["status"]["parents"] = [st.route_parent(s.gw_name, s.gw_ns, "https", s.at(hours=1),
                                              accepted=("False", "NoMatchingParent", "No listeners match this parent ref"))]
    return s, c, healthy_world(s, cert, https_status=404, body="", https_headers={})


@scenario("route-backend-service-renamed", "the route points at Service checkout-v2, which was never created: Envoy answers 500",
          crit("route-backend-unresolved", "app-routing"), """
    What happened: a release renamed the backend in the route to checkout-v2 ahead of the Service
    rename, which did not ship. The route is Accepted with ResolvedRefs=False BackendNotFound.
    What the engineer sees: HTTPS works, and every request gets a 500 with an empty body from
    Envoy.""")
def _backend(pki: PKI):
    s = stack("route-backend-service-renamed", "2026-11-20T13:37:00Z", "2026-11", domain="adventure-works.example",
              host="checkout.adventure-works.example", gw_ns="gateway", gw_name="external", gw_ip="192.0.2.141", app_ns="checkout",
              app_route="checkout", app_service="checkout", edns_owner="aw-prod2", context="aw-prod2", gitops="argocd")
    c, cert = st.build(s, pki)
    r = c.get("HTTPRoute", s.app_ns, s.app_route)
    r["spec"]["rules"] = [st.backend_rule("checkout-v2", 80)]
    r["metadata"]["generation"] = 4
    r["status"]["parents"] = [st.route_parent(s.gw_name, s.gw_ns, "https", s.at(minutes=35), gen=4,
                                              resolved=("False", "BackendNotFound", f"Service {s.app_ns}/checkout-v2 not found"))]
    return s, c, healthy_world(s, cert, https_status=500, body="", https_headers={})


@scenario("route-conflict-canary", "two accepted routes claim the same host and path; the older one wins, the canary never gets traffic",
          warn("route-conflict", "app-routing"), """
    What happened: a second team deployed a canary HTTPRoute for search.example.com with the same
    PathPrefix / as the main route. Both are Accepted; Gateway API precedence gives the rule to the
    older route, so the canary receives nothing. What the engineer sees: the site works, the
    canary's dashboards are empty.""")
def _conflict(pki: PKI):
    s = stack("route-conflict-canary", "2025-10-09T10:10:00Z", "2025-10", domain="example.com", host="search.example.com",
              gw_ns="gateway", gw_name="external", gw_ip="203.0.113.10", app_ns="search", app_route="search",
              app_service="search-api", app_port=8080, app_target_port=8080, edns_owner="corp-prod", context="corp-prod")
    c, cert = st.build(s, pki)
    c.put(st.service(s, "search-canary", "search-api-canary", 8080, 8080, "search-api-canary"))
    c.put(st.namespace(s, "search-canary"))
    c.put(st.httproute(s, "search-canary", "search-canary", [s.host], [st.backend_rule("search-api-canary", 8080)],
                       created=s.at(days=1), app="search-canary"))
    gw = c.get("Gateway", s.gw_ns, s.gw_name)
    gw["status"]["listeners"][1]["attachedRoutes"] = 2
    return s, c, healthy_world(s, cert, body='{"hits":[],"took":3}\n')


# ============================================================================= dns-sync


@scenario("dns-wrong-target-old-lb", "the record still points at the old load balancer address after the Gateway moved",
          crit("dns-wrong-target", "dns-sync"), """
    What happened: the Envoy Service was recreated during a MetalLB pool change and got a new
    address; external-dns (owner ok) has been failing to write to Cloudflare since the API
    token was rotated, so the A record still holds the old address, where nothing listens. What
    the engineer sees: the site is down for everyone using DNS, while curl --resolve to the
    Gateway's new address works.""")
def _wrong_target(pki: PKI):
    s = stack("dns-wrong-target-old-lb", "2026-03-24T07:05:00Z", "2026-03", domain="wingtip.example", host="app.wingtip.example",
              gw_ns="gateway", gw_name="public", gw_ip="203.0.113.77", app_ns="wingtip", app_route="app", app_service="wingtip-app",
              edns_owner="wingtip-prod", context="wingtip-prod")
    c, cert = st.build(s, pki)
    return s, c, healthy_world(s, cert, records=published(s, address="203.0.113.12"), body=app_page("Wingtip"))


@scenario("dns-ownership-other-cluster", "the TXT registry says the record belongs to the old cluster's external-dns",
          crit("dns-ownership-conflict", "dns-sync"), """
    What happened: the app moved from the `blue` cluster to `green`. The record and its
    external-dns TXT registry entry still say owner=blue, so green's external-dns (owner
    green-prod) will not update it, and blue's was switched off. What the engineer sees: the name
    points at blue's old address; green's external-dns logs nothing at info level; the route and
    Gateway on green are fine.""")
def _ownership(pki: PKI):
    s = stack("dns-ownership-other-cluster", "2025-05-21T06:50:00Z", "2025-05", domain="example.org", host="shop.example.org",
              gw_ns="gateway", gw_name="green", gw_ip="198.51.100.200", app_ns="shop", app_route="shop", app_service="shop-web",
              edns_owner="green-prod", context="green-prod")
    c, cert = st.build(s, pki)
    records = published(s, address="198.51.100.100", owner="blue-prod")
    return s, c, healthy_world(s, cert, records=records, body=app_page("Example Shop"))


@scenario("dns-cloudflare-proxied", "the record is proxied (orange cloud): clients get Cloudflare's addresses and edge certificate",
          crit("dns-cloudflare-proxied", "dns-sync"), """
    What happened: someone toggled the proxy on for the record in the Cloudflare dashboard; with
    SSL mode "Flexible" Cloudflare talks to the origin over http://, which the Gateway redirects
    to https, so every request ends in a redirect loop. What the engineer sees: the name resolves
    to 104.21.x.x/172.67.x.x, the certificate is issued by Google Trust Services WE1, responses
    carry cf-ray, and the Gateway itself (curl --resolve) serves its own valid certificate.""")
def _proxied(pki: PKI):
    s = stack("dns-cloudflare-proxied", "2026-11-27T18:30:00Z", "2026-11", domain="fourth-coffee.example", host="menu.fourth-coffee.example",
              gw_ns="gateway", gw_name="eg-public", gw_ip="203.0.113.18", app_ns="menu", app_route="menu", app_service="menu-web",
              edns_owner="fc-hel1", context="fc-hel1")
    c, cert = st.build(s, pki)
    edge_cert = pki.leaf(f"{s.name}/cloudflare-edge", ["fourth-coffee.example", "*.fourth-coffee.example"], issuer="gts-we1",
                         not_before=s.at(days=41), days=90)
    cf_headers = {"cf-ray": "8e3f1a2b7c4d5e6f-HEL", "cf-cache-status": "DYNAMIC"}
    records = [(rel(s, s.host), 300, "A", "104.21.48.117"), (rel(s, s.host), 300, "A", "172.67.161.9")]
    records += registry_txt(s, rel(s, s.host), f"httproute/{s.app_ns}/{s.app_route}")
    sites = [edge_site(s, cert, body=app_page("Fourth Coffee Menu"))]
    for a in ("104.21.48.117", "172.67.161.9"):
        sites.append(Site(address=a, cert=edge_cert, https_status=301, https_body="", https_location=f"https://{s.host}/",
                          https_headers=cf_headers, http="redirect", http_headers=cf_headers, server="cloudflare"))
    return s, c, World(zone=s.domain, records=records, sites=sites)


@scenario("dns-wildcard-masks-missing-record", "no record of its own: a *.domain record answers for the host and hides the gap",
          warn("dns-wildcard-masking", "dns-sync"), """
    What happened: external-dns only publishes routes annotated external-dns.example.net/publish
    (an annotation filter added for a migration); the landing route has it, so external-dns
    publishes *.example.net for it, and the new docs route does not. The host resolves through
    the wildcard to the same Gateway, so it works. What the engineer sees: nothing yet; the
    first Gateway change that splits the addresses (or a removed landing route) takes the host
    down.""")
def _wildcard(pki: PKI):
    s = stack("dns-wildcard-masks-missing-record", "2025-10-30T09:30:00Z", "2025-10", domain="example.net", host="docs.example.net",
              gw_ns="gateway", gw_name="external", gw_ip="203.0.113.61", app_ns="docs", app_route="docs", app_service="docs-site",
              landing=True, landing_ns="www", landing_route="landing", edns_owner="net-prod", context="net-prod",
              edns_extra=["--annotation-filter=external-dns.example.net/publish=true", "--txt-wildcard-replacement=wildcard"])
    c, cert = st.build(s, pki)
    c.get("HTTPRoute", s.landing_ns, s.landing_route)["metadata"].setdefault("annotations", {})["external-dns.example.net/publish"] = "true"
    records = [("*", 300, "A", s.gw_ip), ("a-wildcard", 300, "TXT",
               f'"heritage=external-dns,external-dns/owner={s.edns_owner},external-dns/resource=httproute/{s.landing_ns}/{s.landing_route}"')]
    return s, c, healthy_world(s, cert, records=records, body=app_page("Example Docs"))


@scenario("external-dns-crashloop", "external-dns crash-loops after the token Secret's key was renamed; new hosts get no record",
          crit("external-dns-down", "dns-sync"), """
    What happened: the Cloudflare token Secret for external-dns was recreated by a
    secret-rotation job with the key `token` instead of `api-token`; the Pod cannot start
    (CreateContainerConfigError) and the Deployment has no available replica. A route created
    after that has no record. What the engineer sees: NXDOMAIN for the new host while older hosts
    keep working, and external-dns 0/1 available.""")
def _edns_down(pki: PKI):
    s = stack("external-dns-crashloop", "2026-11-09T14:05:00Z", "2026-11", domain="proseware.example", host="beta.proseware.example",
              gw_ns="ingress", gw_name="envoy-public", gw_ip="203.0.113.201", app_ns="beta", app_route="beta-web",
              app_service="beta-web", edns_owner="proseware-eks", context="proseware-eks")
    c, cert = st.build(s, pki)
    c.put(st.external_dns_deployment(s, available=0))
    r = c.get("HTTPRoute", s.app_ns, s.app_route)
    r["metadata"]["creationTimestamp"] = ts(s.at(hours=3))
    return s, c, healthy_world(s, cert, records=[], body=app_page("Proseware Beta"))


# ============================================================================= cert-issuance


@scenario("cert-first-issuance-pending", "the first certificate for a new environment is still being issued; HTTPS is not served yet",
          crit("cert-secret-missing", "cert-issuance"), """
    What happened: a new Gateway for *.dev.example.org was created four minutes ago together
    with its Certificate. cert-manager has an Order pending and both Challenges presented; the TXT
    record is at the authoritative servers and the self-check is still waiting. Nothing is broken
    deeper yet. What the engineer sees: HTTPS is refused because the listener's Secret does not
    exist; http:// redirects.""")
def _first_pending(pki: PKI):
    now = T("2026-11-30T10:04:00Z")
    s = stack("cert-first-issuance-pending", ts(now), "2026-11", domain="example.org", host="api.dev.example.org",
              listener_hostname="*.dev.example.org", cert_names=["*.dev.example.org", "dev.example.org"], cert_name="wildcard-dev",
              gw_ns="dev-gateway", gw_name="dev", gw_ip="198.51.100.57", app_ns="api-dev", app_route="api", app_service="api",
              edns_owner="org-dev", context="org-dev")
    c, _ = st.build(s, pki)
    first_issuance(c, s, started=s.at(minutes=4), challenges=both_challenges(
        s, {"reason": 'Waiting for DNS-01 challenge propagation: DNS record for "dev.example.org" not yet propagated'}))
    return s, c, refused_world(s, extra=acme_txt(s, rev=1))


@scenario("cert-dns01-txt-not-at-nameservers", "the DNS-01 TXT record never reaches the zone's authoritative servers; 50 min of waiting",
          crit("cert-dns01-propagation-wait", "cert-issuance"), """
    What happened: the company has two Cloudflare accounts; the API token belongs to the old one,
    where a stale copy of fabrikam.example still exists as a zone. cert-manager writes the
    _acme-challenge TXT there, the delegated nameservers never see it, and the self-check waits
    forever. What the engineer sees: Challenges "Waiting for DNS-01 challenge propagation" for
    50 minutes; dig at the authoritative servers finds no _acme-challenge record; HTTPS for the
    new environment is refused.""")
def _dns01_wait(pki: PKI):
    now = T("2026-03-26T15:50:00Z")
    s = stack("cert-dns01-txt-not-at-nameservers", ts(now), "2026-03", domain="fabrikam.example", host="shop.eu.fabrikam.example",
              listener_hostname="*.eu.fabrikam.example", cert_names=["*.eu.fabrikam.example", "eu.fabrikam.example"],
              cert_name="wildcard-eu", gw_ns="infra-gw", gw_name="eu", gatewayclass="envoy", gw_ip="198.51.100.31", app_ns="shop-eu",
              app_route="shop", app_service="shop", edns_owner="fabrikam-eu", context="fabrikam-eu", gitops="argocd")
    c, _ = st.build(s, pki)
    first_issuance(c, s, started=s.at(minutes=50), challenges=both_challenges(
        s, {"reason": 'Waiting for DNS-01 challenge propagation: DNS record for "eu.fabrikam.example" not yet propagated'}))
    return s, c, refused_world(s)


@scenario("cert-rate-limited-duplicate", "Let's Encrypt refuses a new order: five certificates for this exact set of names this week",
          crit("cert-rate-limited", "cert-issuance"), """
    What happened: a CI pipeline reinstalled the preview environment's Helm release on every
    push, deleting and recreating the Certificate and its Secret; the fifth reissue this week hit
    the duplicate-certificate limit. What the engineer sees: the Order failed with
    urn:ietf:params:acme:error:rateLimited and a retry-after time, the Certificate backs off, and
    the preview site has no HTTPS until the limit refills.""")
def _rate(pki: PKI):
    now = T("2025-05-08T16:20:00Z")
    s = stack("cert-rate-limited-duplicate", ts(now), "2025-05", domain="northwind.example", host="preview.northwind.example",
              cert_names=["preview.northwind.example"], cert_name="preview", gw_ns="preview", gw_name="preview",
              gw_ip="203.0.113.150", app_ns="preview", app_route="preview", app_service="preview-web", edns_owner="nw-preview",
              context="nw-preview")
    c, _ = st.build(s, pki)
    msg = ("429 urn:ietf:params:acme:error:rateLimited: too many certificates (5) already issued for this exact set of identifiers "
           "in the last 168h0m0s, retry after 2025-05-09 22:41:13 UTC: see "
           "https://letsencrypt.org/docs/rate-limits/#new-certificates-per-exact-set-of-identifiers")
    failed = now - dt.timedelta(minutes=12)
    oname = st.order_name(s, 1)
    first_issuance(c, s, started=now - dt.timedelta(minutes=13), order_state="errored", order_reason=f"Failed to create Order: {msg}",
                   cr_ready=("False", "Failed", f'Failed to wait for order resource "{oname}" to become ready: order is in "errored" state: Failed to create Order: {msg}'),
                   cert_issuing=("False", "Failed", "The certificate request has failed to complete and will be retried: "
                                 f'Failed to wait for order resource "{oname}" to become ready: order is in "errored" state: Failed to create Order: {msg}'),
                   failure=failed)
    return s, c, refused_world(s)


@scenario("cert-caa-other-ca", "the zone's CAA record allows only DigiCert; Let's Encrypt refuses the wildcard",
          crit("cert-caa-forbids", "cert-issuance"), """
    What happened: the security team added CAA 0 issue "digicert.com" at the zone apex for the
    corporate website. The Kubernetes team's first Let's Encrypt wildcard for *.apps.litware.example
    fails: the authorization is invalid with urn:ietf:params:acme:error:caa. What the engineer
    sees: the Order invalid, a Challenge reason "CAA record for apps.litware.example prevents
    issuance", and dig CAA litware.example shows only digicert.com.""")
def _caa(pki: PKI):
    now = T("2026-07-28T09:15:00Z")
    s = stack("cert-caa-other-ca", ts(now), "2026-07", domain="litware.example", host="hr.apps.litware.example",
              listener_hostname="*.apps.litware.example", cert_names=["*.apps.litware.example"], cert_name="wildcard-apps",
              gw_ns="gateway", gw_name="apps", gw_ip="203.0.113.170", app_ns="hr", app_route="hr-portal", app_service="hr-portal",
              edns_owner="litware-apps", context="litware-apps")
    c, _ = st.build(s, pki)
    failed = now - dt.timedelta(minutes=31)
    oname = st.order_name(s, 1)
    first_issuance(c, s, started=now - dt.timedelta(minutes=33), order_state="invalid",
                   challenges=[{"dns_name": "*.apps.litware.example", "state": "invalid", "presented": False, "processing": False,
                                "reason": "Error accepting authorization: acme: authorization error for apps.litware.example: 403 "
                                          "urn:ietf:params:acme:error:caa: CAA record for apps.litware.example prevents issuance"}],
                   cr_ready=("False", "Failed", f'Failed to wait for order resource "{oname}" to become ready: order is in "invalid" state: '),
                   cert_issuing=("False", "Failed", "The certificate request has failed to complete and will be retried: "
                                 f'Failed to wait for order resource "{oname}" to become ready: order is in "invalid" state: '),
                   failure=failed)
    caa = [("@", 300, "CAA", '0 issue "digicert.com"'), ("@", 300, "CAA", '0 iodef "mailto:security@litware.example"')]
    return s, c, refused_world(s, extra=caa)


@scenario("cert-issuer-account-not-registered", "the production ClusterIssuer is not Ready: ACME registration refused the contact email",
          crit("cert-issuer-not-ready", "cert-issuance"), """
    What happened: the ClusterIssuers were installed with the chart's placeholder email
    admin@example.com; Let's Encrypt refuses example.com contacts, so the ACME account was never
    registered. What the engineer sees: the CertificateRequest "Referenced issuer does not have a
    Ready status condition", no Order, the ClusterIssuer Ready=False ErrRegisterACMEAccount, and
    HTTPS refused.""")
def _issuer(pki: PKI):
    now = T("2025-10-06T12:40:00Z")
    s = stack("cert-issuer-account-not-registered", ts(now), "2025-10", domain="tailspin.example", host="flights.tailspin.example",
              gw_ns="networking", gw_name="public-gw", gatewayclass="envoy", gw_ip="192.0.2.77", app_ns="flights",
              app_route="flights", app_service="flights-web", acme_email="admin@example.com", edns_owner="tailspin",
              context="tailspin-prod", issuer_prod="letsencrypt", issuer_staging="letsencrypt-test")
    c, _ = st.build(s, pki)
    iss = c.get("ClusterIssuer", "", s.issuer_prod)
    iss["status"] = {"acme": {}, "conditions": [cond(
        "Ready", "False", "ErrRegisterACMEAccount",
        "Failed to register ACME account: 400 urn:ietf:params:acme:error:invalidEmail: Error creating new account :: "
        'contact email has forbidden domain "example.com"', s.at(hours=1))]}
    first_issuance(c, s, started=now - dt.timedelta(minutes=58), order_state=None,
                   cr_ready=("False", "Pending", "Referenced issuer does not have a Ready status condition"))
    return s, c, refused_world(s)


@scenario("cert-order-stale-after-restore", "an Order restored from a backup no longer exists at Let's Encrypt: errored, no specific cause",
          crit("cert-order-stuck", "cert-issuance"), """
    What happened: the cluster was rebuilt from a Velero backup taken nine days earlier,
    including cert-manager's in-flight Order for a new certificate. Let's Encrypt expires orders
    after seven days, so cert-manager's next call fails with a 404 and the Order is errored; no
    Challenge explains anything. What the engineer sees: the Certificate not Ready, the Order
    errored "Failed to retrieve Order resource", HTTPS refused. Cleaning up the Order lets
    cert-manager start over.""")
def _order(pki: PKI):
    now = T("2026-03-12T07:30:00Z")
    s = stack("cert-order-stale-after-restore", ts(now), "2026-03", domain="woodgrove.example", host="loans.woodgrove.example",
              cert_names=["loans.woodgrove.example"], cert_name="loans", gw_ns="gateway", gw_name="external", gw_ip="198.51.100.90",
              app_ns="loans", app_route="loans", app_service="loans-web", edns_owner="woodgrove-dr", context="woodgrove-dr")
    c, _ = st.build(s, pki)
    oname = st.order_name(s, 1)
    reason = ("Failed to retrieve Order resource: 404 urn:ietf:params:acme:error:malformed: No order for ID "
              f"{st.digits(oname, 12)}")
    failed = now - dt.timedelta(hours=6)
    first_issuance(c, s, started=now - dt.timedelta(days=9, hours=2), order_state="errored", order_reason=reason,
                   cr_ready=("False", "Failed", f'Failed to wait for order resource "{oname}" to become ready: order is in "errored" state: {reason}'),
                   cert_issuing=("False", "Failed", "The certificate request has failed to complete and will be retried: "
                                 f'Failed to wait for order resource "{oname}" to become ready: order is in "errored" state: {reason}'),
                   failure=failed)
    return s, c, refused_world(s)


@scenario("cert-expired-certificate-pruned", "Argo CD pruned the Certificate; its Secret stayed, nothing renewed it, it expired",
          crit("cert-expired", "cert-issuance"), """
    What happened: during a repository reorganisation the Certificate manifest moved out of the
    Argo CD application, which pruned the Certificate but not the Secret (Secrets carry no owner
    reference by default). Nobody renewed the certificate, and it expired two days ago; at its
    next translation Envoy Gateway rejected the Secret and dropped the HTTPS listener. What the
    engineer sees: HTTPS refused, the listener "certificate ... has expired", no Certificate
    object for the listener's Secret, http:// still redirecting.""")
def _expired(pki: PKI):
    now = T("2026-11-16T08:00:00Z")
    s = stack("cert-expired-certificate-pruned", ts(now), "2026-11", domain="contoso.example", host="support.contoso.example",
              gw_ns="gateway", gw_name="external", gw_ip="203.0.113.99", app_ns="support", app_route="helpdesk",
              app_service="helpdesk", cert_issued=now - dt.timedelta(days=92, hours=6), edns_owner="contoso-eu2",
              context="contoso-eu2", gitops="argocd")
    c, cert = st.build(s, pki)
    for kind, name in (("Certificate", s.cert_name), ("CertificateRequest", st.cr_name(s, s.revision)),
                       ("Order", st.order_name(s, s.revision))):
        c.delete(kind, s.cert_ns, name)
    expired_at = cert.cert.not_valid_after_utc.strftime("%Y-%m-%d %H:%M:%S +0000 UTC")
    msg = (f"No valid secrets exist: certificate refs 0: Secret {s.cert_ns}/{s.secret_name} must contain valid tls.crt and "
           f"tls.key, unable to validate certificate in tls.crt: certificate {s.cert_names[0]} has expired since {expired_at}")
    break_https_listener(c, s, "InvalidCertificateRef", msg, s.at(days=1, hours=20))
    return s, c, refused_world(s)


def hand_copied_secret(pki: PKI, name: str, now: dt.datetime, **kw: Any) -> tuple[Stack, Cluster, Any]:
    """The wildcard Secret copied by hand into a new cluster: no Certificate manages it."""
    s = stack(name, ts(now), "2026-07", domain="wingtip.example", host="tickets.wingtip.example",
              listener_hostname="*.wingtip.example", cert_names=["*.wingtip.example", "wingtip.example"],
              cert_name="wildcard-wingtip", secret_name="wildcard-wingtip-tls", gw_ns="edge", gw_name="public",
              gw_ip="203.0.113.77", app_ns="tickets", app_route="tickets", app_service="tickets",
              cert_issued=now - dt.timedelta(days=20), edns_owner="wingtip-dr", context="wingtip-dr", **kw)
    c, cert = st.build(s, pki)
    for kind, cname in (("Certificate", s.cert_name), ("CertificateRequest", st.cr_name(s, s.revision)),
                        ("Order", st.order_name(s, s.revision))):
        c.delete(kind, s.cert_ns, cname)
    return s, c, cert


@scenario("cert-secret-invalid-key-stripped", "the TLS Secret was copied into a new cluster by a script that blanked tls.key",
          crit("cert-secret-invalid", "cert-issuance"), """
    What happened: for a disaster-recovery cluster the platform team copied the wildcard
    certificate's Secret from the old cluster with a script written to export manifests for Git,
    which blanks every private key. The Secret exists with tls.crt and an empty tls.key, and no
    Certificate manages it in the new cluster. Envoy Gateway rejects it and drops the HTTPS
    listener. What the engineer sees: HTTPS refused, `kubectl get secret` shows the Secret
    (type kubernetes.io/tls, two keys), the listener "must contain tls.crt and tls.key".""")
def _secret_invalid(pki: PKI):
    now = T("2026-08-12T07:45:00Z")
    s, c, cert = hand_copied_secret(pki, "cert-secret-invalid-key-stripped", now)
    c.put(st.tls_secret(s, cert, cert_manager=False, key=""))
    prefix = "" if vtuple(s.eg_version) < (1, 7, 0) else "No valid secrets exist: certificate refs 0: "
    break_https_listener(c, s, "InvalidCertificateRef",
                         f"{prefix}Secret {s.cert_ns}/{s.secret_name} must contain tls.crt and tls.key.", s.at(minutes=40))
    return s, c, refused_world(s)


@scenario("healthy-hand-copied-secret", "the TLS Secret was copied by hand into a new cluster, key and all; it serves",
          OK, """
    What happened: nothing is broken. The healthy twin of cert-secret-invalid-key-stripped: the
    same disaster-recovery cluster, the wildcard Secret copied by hand from the old cluster with
    its certificate and its matching key, no Certificate managing it (the certificate has 70
    days left). What the engineer sees: HTTPS serves the wildcard certificate, http://
    redirects.""")
def _secret_copied(pki: PKI):
    now = T("2026-08-12T07:45:00Z")
    s, c, cert = hand_copied_secret(pki, "healthy-hand-copied-secret", now)
    c.put(st.tls_secret(s, cert, cert_manager=False))
    return s, c, healthy_world(s, cert, body=app_page("Wingtip Tickets"))


@scenario("cert-expiring-manual-upload", "a certificate bought from Sectigo and uploaded by hand expires in 9 days; nothing renews it",
          warn("cert-expiring", "cert-issuance"), """
    What happened: the apex site example.net uses an OV certificate bought from Sectigo and stored
    by hand in a Secret; no Certificate resource manages it, and the calendar reminder left with
    the person who set it up. What the engineer sees: everything works; the certificate's notAfter
    is nine days away.""")
def _expiring(pki: PKI):
    now = T("2025-05-30T10:00:00Z")
    s = stack("cert-expiring-manual-upload", ts(now), "2025-05", domain="example.net", host="example.net",
              listener_hostname="example.net", cert_names=["example.net", "www.example.net"], cert_name="example-net",
              secret_name="example-net-sectigo", gw_ns="gateway", gw_name="apex", gw_ip="203.0.113.62", app_ns="www",
              app_route="website", app_service="website", cert_issuer_ca="sectigo-dv", cert_issued=now - dt.timedelta(days=356),
              cert_days=365, edns_owner="net-apex", context="net-prod")
    c, _ = st.build(s, pki)
    for kind, name in (("Certificate", s.cert_name), ("CertificateRequest", st.cr_name(s, s.revision)),
                       ("Order", st.order_name(s, s.revision))):
        c.delete(kind, s.cert_ns, name)
    cert = pki.leaf(f"{s.name}/sectigo", s.cert_names, issuer="sectigo-dv", not_before=now - dt.timedelta(days=356), days=365)
    c.put(st.tls_secret(s, cert, cert_manager=False))
    return s, c, healthy_world(s, cert, body=app_page("Example Networks"))


@scenario("cert-san-two-labels", "a two-label host is routed through *.example.com but the wildcard certificate covers one label",
          crit("cert-san-mismatch", "cert-issuance"), """
    What happened: a team added api.eu.example.com to the shared *.example.com listener. Gateway
    API's wildcard matches any number of labels, so the route is Accepted and Envoy serves the
    *.example.com certificate; a certificate wildcard covers exactly one label (RFC 6125), so
    clients reject it. What the engineer sees: every Kubernetes status is green; curl says "no
    alternative certificate subject name matches".""")
def _san(pki: PKI):
    s = stack("cert-san-two-labels", "2026-07-10T12:30:00Z", "2026-07", domain="example.com", host="api.eu.example.com",
              gw_ns="gateway", gw_name="public", gw_ip="203.0.113.10", app_ns="api-eu", app_route="api", app_service="api",
              edns_owner="corp-prod", context="corp-prod")
    c, cert = st.build(s, pki)
    return s, c, healthy_world(s, cert, body='{"status":"ok"}\n')


@scenario("cert-stale-served-after-renewal", "the Secret holds the renewed certificate, Envoy still serves the old one",
          warn("cert-stale-served", "cert-issuance"), """
    What happened: cert-manager renewed *.northwind.example yesterday and wrote the new
    certificate into the Secret, but Envoy Gateway's controller had lost its watch on Secrets
    (a known class of informer bug, fixed by a restart), so the data plane still serves the old
    certificate, which has 8 days left. What the engineer sees: the Certificate shows the new
    notAfter, browsers show the old one; it breaks in 8 days unless the controller reloads.""")
def _stale(pki: PKI):
    now = T("2026-11-21T09:00:00Z")
    s = stack("cert-stale-served-after-renewal", ts(now), "2026-11", domain="northwind.example", host="shop.northwind.example",
              gw_ns="gateway", gw_name="public", gw_ip="203.0.113.5", app_ns="shop", app_route="storefront",
              app_service="storefront", cert_issued=now - dt.timedelta(days=1, hours=2), revision=7, edns_owner="northwind-prod",
              context="northwind-prod")
    c, _new = st.build(s, pki)
    old = pki.leaf(f"{s.name}/old", s.cert_names, issuer="le-ye1", not_before=now - dt.timedelta(days=82), days=90)
    return s, c, healthy_world(s, old, body=app_page("Northwind Traders - Shop"))


@scenario("cert-manager-down-renewal-due", "cert-manager has no running controller; the renewal due three days ago never started",
          warn("cert-manager-down", "cert-issuance"), """
    What happened: during a node pool migration cert-manager's controller was scaled to zero and
    never scaled back. The Certificate's renewal time passed three days ago and nothing happened:
    no CertificateRequest, no Order. The served certificate is still valid for 12 days. What the
    engineer sees: everything works; cert-manager 0/0 replicas; the site breaks in 12 days.""")
def _cm_down(pki: PKI):
    now = T("2025-10-17T10:30:00Z")
    s = stack("cert-manager-down-renewal-due", ts(now), "2025-10", domain="proseware.example", host="app.proseware.example",
              gw_ns="ingress", gw_name="envoy-public", gw_ip="203.0.113.201", app_ns="app", app_route="app", app_service="app-web",
              cert_issued=now - dt.timedelta(days=78), edns_owner="proseware-eks", context="proseware-eks")
    c, cert = st.build(s, pki)
    dep = c.get("Deployment", s.cm_ns, "cert-manager")
    dep["spec"]["replicas"] = 0
    dep["status"] = {"observedGeneration": 5, "conditions": [
        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability.",
         "lastUpdateTime": ts(s.at(days=5)), "lastTransitionTime": ts(s.at(days=5))},
        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
         "message": 'ReplicaSet "cert-manager-6c9b7f6d5c" has successfully progressed.', "lastUpdateTime": ts(s.at(days=5)),
         "lastTransitionTime": ts(s.at(days=90))}]}
    return s, c, healthy_world(s, cert, body=app_page("Proseware"))


@scenario("cert-manager-v1160-clusterissuer-secret", "cert-manager v1.16.0 looks for the ClusterIssuer's Cloudflare token in the wrong namespace",
          crit("cert-manager-v1160-issuer-namespace", "cert-issuance"), """
    What happened: the cluster was upgraded to cert-manager v1.16.0 the week it came out. That
    release reads ACME ClusterIssuer solver Secrets from the wrong namespace, so the Cloudflare
    token that has always lived in cert-manager is "not found" (fixed in v1.16.1). A new
    Certificate's Challenges fail to present. What the engineer sees: "error getting cloudflare
    secret: secret "cloudflare-api-token" not found" although kubectl shows the Secret right
    there; HTTPS for the new host is refused.""")
def _v1160(pki: PKI):
    now = T("2024-10-22T14:10:00Z")
    s = stack("cert-manager-v1160-clusterissuer-secret", ts(now), "2024-10", domain="example.com", host="status.example.com",
              cert_names=["status.example.com"], cert_name="status", gw_ns="gateway", gw_name="external", gw_ip="203.0.113.10",
              app_ns="status", app_route="status", app_service="status-page", edns_owner="corp-prod", context="corp-prod")
    c, _ = st.build(s, pki)
    first_issuance(c, s, started=now - dt.timedelta(minutes=26), challenges=[{
        "dns_name": "status.example.com", "state": "pending", "presented": False, "processing": True,
        "reason": 'error getting cloudflare secret: secret "cloudflare-api-token" not found'}])
    return s, c, refused_world(s)


# ============================================================================= variants
# Second stories for codes whose field reports come in more than one shape.


@scenario("cert-manager-7003-first-issuance", "a new wildcard never issues: v1.17.0 cannot clean up its valid challenge (7003)",
          crit("cert-cloudflare-7003-cleanup", "cert-issuance"), """
    What happened: a new environment's first wildcard certificate, *.eu.tailspin.example, on
    cert-manager v1.17.0, whose tag predates the fix for Cloudflare's API change (first fixed in
    v1.17.1). The apex Challenge validated, its cleanup fails with error 7003, it stays
    processing, and the wildcard Challenge for the same _acme-challenge name is never scheduled.
    What the engineer sees: no Secret, so no HTTPS listener; on Envoy Gateway v1.3 the routes are
    rejected with NoReadyListeners, so external-dns removed the records and the names are
    NXDOMAIN: it looks like DNS, and it is the certificate.""")
def _v7003_first(pki: PKI):
    now = T("2025-02-11T09:40:00Z")
    s = stack("cert-manager-7003-first-issuance", ts(now), "2025-02", cm_version="v1.17.0", domain="tailspin.example",
              host="checkin.eu.tailspin.example", listener_hostname="*.eu.tailspin.example",
              cert_names=["*.eu.tailspin.example", "eu.tailspin.example"], cert_name="wildcard-eu", gw_ns="networking",
              gw_name="eu-gw", gatewayclass="envoy", gw_ip="192.0.2.88", app_ns="checkin", app_route="checkin",
              app_service="checkin-web", edns_owner="tailspin-eu", context="tailspin-eu")
    c, _ = st.build(s, pki)
    first_issuance(c, s, started=now - dt.timedelta(hours=7), challenges=both_challenges(
        s, {"state": "pending", "presented": False, "processing": False, "reason": None},
        {"state": "valid", "presented": True, "processing": True, "reason": CF_7003.format(rid="a41f09c3b7e24d5f8e6a1c0b9d2f7e3a")}))
    return s, c, refused_world(s, extra=acme_txt(s, names=[s.cert_names[1]], rev=1))


@scenario("k8s-gateway-internal-resolver", "asked through the VPN resolver, k8s_gateway answers NXDOMAIN for the HTTPRoute host",
          crit("dns-internal-split-horizon", "dns-sync"), """
    What happened: the same k8s_gateway that serves woodgrove.example inside the network (no
    `resources` line, so Ingress and Service only) answers every HTTPRoute name with NXDOMAIN
    and its own 60-second SOA. The engineer ran the check on the VPN, whose resolver is
    k8s_gateway. What the engineer sees: the public authoritative servers have the record, the
    resolver says NXDOMAIN, and waiting the negative TTL changes nothing: it is not propagation,
    the internal DNS does not look at HTTPRoutes.""")
def _k8sgw_internal(pki: PKI):
    s = stack("k8s-gateway-internal-resolver", "2026-11-04T07:50:00Z", "2026-11", domain="woodgrove.example",
              host="advisor.woodgrove.example", gw_ns="gateway", gw_name="external", gw_ip="198.51.100.90", app_ns="advisory",
              app_route="advisor", app_service="advisor-web", edns_owner="woodgrove", context="woodgrove-aks")
    c, cert = st.build(s, pki)
    c.put(st.namespace(s, "kube-system"))
    c.put(k8s_gateway_mounts(st.deployment(s, "kube-system", "k8s-gateway", {"app.kubernetes.io/name": "k8s-gateway", "app.kubernetes.io/instance": "k8s-gateway"},
                        [{"name": "k8s-gateway", "image": "quay.io/k8s-gateway/k8s_gateway:v1.8.2", "args": ["-conf", "/etc/coredns/Corefile"]}],
                        replicas=2, extra_labels={"app.kubernetes.io/version": "1.8.2", "helm.sh/chart": "k8s-gateway-3.5.2"})))
    c.put({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": st._meta(s, "ConfigMap", "k8s-gateway", "kube-system", s.at(days=90), generation=None,
                                labels={"app.kubernetes.io/name": "k8s-gateway"}),
           "data": {"Corefile": ".:1053 {\n    errors\n    log\n    ready\n    k8s_gateway woodgrove.example {\n"
                                "        apex k8s-gateway.kube-system\n        ttl 300\n    }\n    prometheus 0.0.0.0:9153\n"
                                "    loop\n    reload\n    loadbalance\n}\n"}})
    svc = st.service(s, "kube-system", "k8s-gateway", 53, 1053, "k8s-gateway")
    svc["spec"].update({"type": "LoadBalancer", "ports": [{"name": "dns-udp", "port": 53, "protocol": "UDP", "targetPort": 1053}]})
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "10.40.0.53", "ipMode": "VIP"}]}}
    c.put(svc)
    w = healthy_world(s, cert, body=app_page("Woodgrove Advisor"))
    w.resolver_records = []
    w.resolver_soa = ("k8s-gateway.kube-system.woodgrove.example.", "hostmaster.k8s-gateway.kube-system.woodgrove.example.", 60, 60)
    w.resolver_address = "10.40.0.53"
    return s, c, w


@scenario("proxy-protocol-lb-only", "the AWS NLB sends PROXY protocol (set through EnvoyProxy); Envoy does not expect it",
          crit("proxy-protocol-mismatch", "app-routing"), """
    What happened: to keep client IPs, someone added the aws-load-balancer-proxy-protocol
    annotation to the EnvoyProxy's envoyService, but no ClientTrafficPolicy enables PROXY on the
    Gateway. The NLB now prepends a PROXY header that Envoy reads as the start of TLS or HTTP.
    What the engineer sees: every TLS handshake is dropped, http:// answers 400 Bad Request; the
    Gateway and all routes are Accepted and Programmed.""")
def _pp_lb(pki: PKI):
    s = stack("proxy-protocol-lb-only", "2026-03-19T13:15:00Z", "2026-03", domain="proseware.example", host="docs.proseware.example",
              gw_ns="ingress", gw_name="envoy-public", gw_ip="198.51.100.210", app_ns="docs", app_route="docs",
              app_service="docs-web", edns_owner="proseware-eks", context="proseware-eks")
    c, _ = st.build(s, pki)
    ann = {"service.beta.kubernetes.io/aws-load-balancer-type": "external",
           "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
           "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
           "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol": "*"}
    c.put({"apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": "EnvoyProxy",
           "metadata": st._meta(s, "EnvoyProxy", "aws-nlb", s.gw_ns, s.at(hours=2), generation=3),
           "spec": {"provider": {"type": "Kubernetes", "kubernetes": {"envoyService": {"annotations": ann}}}}})
    gw = c.get("Gateway", s.gw_ns, s.gw_name)
    gw["spec"]["infrastructure"] = {"parametersRef": {"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": "aws-nlb"}}
    c.get("Service", s.envoy_ns, s.envoy_name)["metadata"]["annotations"] = dict(ann)
    site = Site(address=s.gw_ip, tls="close", http="serve", http_status=400, http_body="Bad Request",
                http_headers={"connection": "close"})
    return s, c, World(zone=s.domain, records=published(s), sites=[site])


@scenario("redirect-loop-on-https", "the redirect route has no sectionName, attaches to https too and wins: https:// redirects to itself",
          crit("redirect-missing", "app-routing"), """
    What happened: a Gateway dedicated to one host (listeners http and https for
    docs.contoso.example) got a redirect route whose parentRef names the Gateway without a
    sectionName, so it attaches to both listeners. The app route has no hostnames either; with
    equal hostnames and paths the older route wins, and that is the redirect. What the engineer
    sees: browsers report too many redirects; curl -I https://docs.contoso.example/ answers 301
    to the same URL.""")
def _loop(pki: PKI):
    s = stack("redirect-loop-on-https", "2025-10-20T08:25:00Z", "2025-10", domain="contoso.example", host="docs.contoso.example",
              listener_hostname="docs.contoso.example", cert_names=["docs.contoso.example"], cert_name="docs",
              gw_ns="docs", gw_name="docs", gw_ip="203.0.113.131", app_ns="docs", app_route="docs", app_service="docs-site",
              redirect_route="docs-https-redirect", edns_owner="contoso-docs", context="contoso-docs")
    c, cert = st.build(s, pki)
    rr = c.get("HTTPRoute", s.gw_ns, s.redirect_route)
    rr["spec"]["parentRefs"] = [{"name": s.gw_name}]
    rr["status"]["parents"] = [st.route_parent(s.gw_name, s.gw_ns, None, s.at(days=169))]
    app = c.get("HTTPRoute", s.app_ns, s.app_route)
    app["spec"].pop("hostnames")
    app["spec"]["parentRefs"] = [{"name": s.gw_name, "sectionName": "https"}]
    app["status"]["parents"] = [st.route_parent(s.gw_name, s.gw_ns, "https", s.at(days=40))]
    gw = c.get("Gateway", s.gw_ns, s.gw_name)
    gw["status"]["listeners"][1]["attachedRoutes"] = 2
    return s, c, healthy_world(s, cert, https_status=301, body="", https_location="https://$host$request_uri", https_headers={})


@scenario("route-backend-no-endpoints-offline", "recorded offline: the route's Service has no ready endpoint (the app was scaled to zero)",
          crit("route-backend-unresolved", "app-routing"), """
    What happened: a cost-saving job scaled the invoicing Deployment to zero over the weekend and
    nobody scaled it back; the Service and route are fine, the EndpointSlice is empty, and Envoy
    answers 503 "no healthy upstream". The engineer recorded the check with --offline from a jump
    host that can reach the API server but not the edge. What the engineer sees: the route is
    Accepted with ResolvedRefs True; only the empty endpoints tell why users get 503.""")
def _no_endpoints(pki: PKI):
    s = stack("route-backend-no-endpoints-offline", "2026-07-13T06:05:00Z", "2026-07", domain="fabrikam.example",
              host="invoices.fabrikam.example", gw_ns="infra-gw", gw_name="external", gatewayclass="envoy", gw_ip="198.51.100.24",
              app_ns="finance", app_route="invoices", app_service="invoices", app_port=8080, app_target_port=8080,
              edns_owner="fabrikam-prd", context="fabrikam-prd-weu", gitops="argocd")
    c, _ = st.build(s, pki)
    eps = c.of_kind("EndpointSlice")
    for e in eps:
        if e["metadata"]["namespace"] == s.app_ns:
            e["endpoints"] = []
    return s, c, World(zone=s.domain, offline=True)


@scenario("route-not-accepted-namespace-selector", "the https listener admits namespaces labelled gateway-access=public; the app's is not",
          crit("route-not-accepted", "app-routing"), """
    What happened: the platform team restricted the https listener to namespaces labelled
    gateway-access=public; a new team's namespace was created without the label. Envoy Gateway
    rejects the route (NotAllowedByListeners), so external-dns publishes nothing for it. What the
    engineer sees: NXDOMAIN for the new host and a route "No listeners included by this parent ref
    allowed this attachment."; the Gateway, its certificate and the other apps are fine.""")
def _ns_selector(pki: PKI):
    s = stack("route-not-accepted-namespace-selector", "2026-11-26T10:45:00Z", "2026-11", domain="example.org",
              host="wiki.example.org", gw_ns="edge", gw_name="edge", gatewayclass="envoy-gateway", gw_ip="203.0.113.80",
              app_ns="team-wiki", app_route="wiki", app_service="wiki", edns_owner="org-edge", context="edge-prod")
    c, cert = st.build(s, pki)
    gw = c.get("Gateway", s.gw_ns, s.gw_name)
    gw["spec"]["listeners"][1]["allowedRoutes"] = {"namespaces": {"from": "Selector", "selector": {"matchLabels": {"gateway-access": "public"}}}}
    gw["status"]["listeners"][1]["attachedRoutes"] = 0
    r = c.get("HTTPRoute", s.app_ns, s.app_route)
    r["metadata"]["creationTimestamp"] = ts(s.at(hours=2))
    r["status"]["parents"] = [st.route_parent(s.gw_name, s.gw_ns, "https", s.at(hours=2),
                                              accepted=("False", "NotAllowedByListeners",
                                                        "No listeners included by this parent ref allowed this attachment."))]
    return s, c, healthy_world(s, cert, records=[], https_status=404, body="", https_headers={})


@scenario("dns-record-made-by-hand", "the record is right but was made by hand: external-dns does not own it and will not change it",
          warn("dns-ownership-conflict", "dns-sync"), """
    What happened: during an outage someone created the A record for pay.northwind.example by
    hand in Cloudflare. It points at the right address, but it has no external-dns TXT registry
    record, so external-dns (policy sync) considers it foreign and will never update or delete it.
    What the engineer sees: everything works today; the next Gateway address change will leave
    this one host behind.""")
def _by_hand(pki: PKI):
    s = stack("dns-record-made-by-hand", "2026-11-19T16:20:00Z", "2026-11", domain="northwind.example", host="pay.northwind.example",
              gw_ns="gateway", gw_name="public", gw_ip="203.0.113.5", app_ns="payments", app_route="pay", app_service="pay-web",
              edns_owner="northwind-prod", context="northwind-prod")
    c, cert = st.build(s, pki)
    return s, c, healthy_world(s, cert, records=[("pay", 1, "A", s.gw_ip)], body=app_page("Northwind Pay"))
