"""Which finding is the root cause: one rule, documented in checks/README.md ("Ranking").

1. Blocks users now before will block later: critical, then warning, then info.
2. A consequence ranks after its cause: a finding whose cause is also among the findings
   (`CONSEQUENCES` below, or `explained_by` set by the layer that saw the link) is listed,
   never named as the root cause while its cause is present.
3. The first link the request breaks on: DNS, then the load balancer, the Gateway and its
   listener, then routing (route, backend), then the certificate the listener serves, then
   the http->https redirect.
4. Inside the certificate link, the issuance chain from the deepest object up: what the
   Challenge waits for explains the Order, the Order the request, the request the
   Certificate, the Certificate the Secret, the Secret what the edge serves.
5. Otherwise, the order in which the layers found them.

Pure data and functions; no numbers to tune per finding.
"""

from __future__ import annotations

from collections.abc import Iterable

from edgedoctor.model import SEVERITY_RANK, Finding

# The request's path, one entry per link; nodes of one link share a position.
PATH: tuple[tuple[str, ...], ...] = (
    ("dns",),
    ("load-balancer",),
    ("gateway",),
    ("listener",),
    ("route",),
    ("backend",),
    # The certificate the listener serves, with the issuance chain behind it, deepest first.
    ("challenge", "order", "certificate-request", "certificate", "secret", "served-certificate"),
    ("http-redirect",),
)
_POSITION = {node: (link, depth) for link, nodes in enumerate(PATH) for depth, node in enumerate(nodes)}

_APP_ROUTING_BROKEN = frozenset({"gatewayclass-not-accepted", "gateway-no-address", "gateway-not-programmed",
                                 "listener-no-match", "route-missing", "route-not-accepted"})
_NOT_PUBLISHED = frozenset({"gatewayclass-not-accepted", "gateway-no-address", "listener-no-match",
                            "route-missing", "route-not-accepted"})
_CERT_CAUSES = frozenset({"cert-issuer-not-ready", "cert-solver-no-match", "cert-caa-forbids", "cert-rate-limited",
                          "cert-cloudflare-token-permission", "cert-cloudflare-7003-cleanup",
                          "cert-dns01-propagation-wait", "cert-manager-down", "cert-manager-v1160-issuer-namespace"})

_DNS_CAUSES = frozenset({"external-dns-down", "dns-ownership-conflict", "dns-cloudflare-proxied", "dns-propagation",
                         "dns-internal-split-horizon"})

# effect -> the findings that explain it when present (why, in the comment).
CONSEQUENCES: dict[str, frozenset[str]] = {
    # A Gateway that does not run, or a host no listener or route takes, refuses http:// too.
    "redirect-missing": _APP_ROUTING_BROKEN | {"dns-cloudflare-proxied"},
    # external-dns publishes only hosts a route attaches to a Gateway with an address.
    **{code: _NOT_PUBLISHED for code in ("dns-ownership-conflict", "dns-propagation")},
    # Behind Cloudflare's proxy the probes meet Cloudflare's edge, not the Gateway.
    **{code: frozenset({"dns-cloudflare-proxied"}) for code in ("cert-san-mismatch", "cert-expired",
                                                                 "cert-expiring", "cert-staging-issuer",
                                                                 "cert-stale-served")},
    # What keeps the record from being written or read explains a missing or wrong answer:
    # external-dns not running, another owner's record it will not overwrite, Cloudflare's
    # proxy answering instead, resolvers still caching, the in-cluster resolver not knowing it.
    **{code: _NOT_PUBLISHED | _DNS_CAUSES for code in ("dns-no-record", "dns-wrong-target",
                                                       "dns-wildcard-masking")},
    # A listener naming a Secret no Certificate writes: that Secret is missing because of it.
    "cert-secret-missing": frozenset({"cert-secret-name-mismatch"}),
    # A GatewayClass no controller accepts leaves every Gateway of it unprogrammed.
    "gateway-not-programmed": frozenset({"gatewayclass-not-accepted"}),
    # An Order stuck "with no more specific cause" is what every issuance cause looks like from the Order.
    "cert-order-stuck": _CERT_CAUSES,
}


def is_consequence(f: Finding, present: set[str]) -> bool:
    if f.explained_by and f.explained_by in present:
        return True
    return bool(CONSEQUENCES.get(f.code, frozenset()) & (present - {f.code}))


def rank_key(f: Finding, present: set[str]) -> tuple[int, int, int, int]:
    """Smaller is more the root cause (rule 1-4; rule 5 is a stable sort)."""
    link, depth = _POSITION.get(f.node, (len(PATH), 0))
    return (-SEVERITY_RANK[f.severity], int(is_consequence(f, present)), link, depth)


def rank(findings: Iterable[Finding]) -> list[Finding]:
    """The findings, root cause first."""
    found = list(findings)
    # A consequence only yields to a cause that is itself a problem (not an info note).
    present = {f.code for f in found if f.severity != "info"}
    return sorted(found, key=lambda f: rank_key(f, present))


def dedupe(findings: list[Finding]) -> list[Finding]:
    """One finding per code: the most severe, then the first found; in the order found."""
    best: dict[str, Finding] = {}
    for f in findings:
        cur = best.get(f.code)
        if cur is None or SEVERITY_RANK[f.severity] > SEVERITY_RANK[cur.severity]:
            best[f.code] = f
    order = {id(f): i for i, f in enumerate(findings)}
    return sorted(best.values(), key=lambda f: order[id(f)])
