"""Read cert-manager and ACME failure messages: which root cause do they name?

The strings are the ones cert-manager and Let's Encrypt write (the catalog entries'
`references` name the sources); matching is case-insensitive
because the docs and the code disagree on case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CF_EMPTY_ZONE = re.compile(r"/zones//dns_records/", re.I)
_CF_7003 = re.compile(r"error:?\s*7003\b|\b7003:\s*could not route", re.I)
_CF_TOKEN = re.compile(
    r"found no zones for domain|com\.cloudflare\.api\.account\.zone\.list|"
    r"error:?\s*(6003|6111|10000|9109)\b|invalid request headers|authentication error|"
    r"the cloudflare api token is invalid|no cloudflare credential has been given|"
    r"requires permission",
    re.I,
)
_CF_SECRET_NS = re.compile(r"error getting cloudflare secret: secret \"?([^\"\s]+)\"? not found", re.I)
_PROPAGATION = re.compile(r"waiting for dns-01 challenge propagation", re.I)
# Let's Encrypt could not see the record: the terminal form of a propagation problem.
_TXT_NOT_SEEN = re.compile(
    r"no txt record found at _acme-challenge|incorrect txt record .* found at _acme-challenge|"
    r"dns problem: (nxdomain|servfail|timeout)[^:]*looking up txt",
    re.I,
)
_RATE = re.compile(r"urn:ietf:params:acme:error:ratelimited|\bratelimited\b", re.I)
_RETRY_AFTER = re.compile(r"retry after ([0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9:]{8}(?: ?UTC|Z)?)", re.I)
_CAA = re.compile(r"urn:ietf:params:acme:error:caa|caa record for \S+ prevents issuance", re.I)
_ISSUER = re.compile(
    r"referenced \"?(issuer|clusterissuer)\"? not found|does not have a ready status condition|"
    r"error reading (cluster)?issuer",
    re.I,
)
_SOLVER = re.compile(
    r"no configured challenge solvers can be used|failed to determine a valid solver configuration",
    re.I,
)

_LIMITS = (
    (re.compile(r"exact set of (domains|identifiers)", re.I), "New Certificates per Exact Set of Identifiers (5 per 7 days)"),
    (re.compile(r"too many new orders", re.I), "New Orders per Account (300 per 3 hours)"),
    (re.compile(r"too many failed authorizations", re.I), "Authorization Failures per Identifier per Account (5 per hour)"),
    (re.compile(r"too many new registrations", re.I), "New Registrations per IP address"),
    (re.compile(r"too many certificates \(\d+\) already issued for", re.I), "New Certificates per Registered Domain (50 per 7 days)"),
)


@dataclass
class Classified:
    code: str
    detail: dict[str, str]


def classify(message: str) -> Classified | None:
    """The root-cause code a failure message names, most specific first."""
    if not message:
        return None
    if _CF_EMPTY_ZONE.search(message) or _CF_7003.search(message):
        return Classified("cert-cloudflare-7003-cleanup", {})
    m = _CF_SECRET_NS.search(message)
    if m:
        return Classified("_cloudflare-secret-not-found", {"secret": m.group(1)})
    if _CF_TOKEN.search(message):
        return Classified("cert-cloudflare-token-permission", {})
    if _RATE.search(message):
        detail = {}
        r = _RETRY_AFTER.search(message)
        if r:
            detail["retry_after"] = r.group(1)
        for pat, limit in _LIMITS:
            if pat.search(message):
                detail["limit"] = limit
                break
        return Classified("cert-rate-limited", detail)
    if _CAA.search(message):
        return Classified("cert-caa-forbids", {})
    if _SOLVER.search(message):
        return Classified("cert-solver-no-match", {})
    if _ISSUER.search(message):
        return Classified("cert-issuer-not-ready", {})
    if _PROPAGATION.search(message):
        return Classified("cert-dns01-propagation-wait", {})
    if _TXT_NOT_SEEN.search(message):
        return Classified("cert-dns01-propagation-wait", {"validation": "failed"})
    return None


def cloudflare_cleanup_bug_affected(version: tuple[int, int, int] | None) -> bool | None:
    """cert-manager versions whose Cloudflare CleanUp builds /zones//dns_records/<id>.

    Fixed in v1.12.16, v1.16.4, v1.17.1 and from v1.18.0; v1.13-v1.15 never got a fix.
    None when the version is unknown.
    """
    if version is None:
        return None
    major, minor, patch = version
    if (major, minor) >= (1, 18) or major > 1:
        return False
    if (major, minor) == (1, 17):
        return patch < 1
    if (major, minor) == (1, 16):
        return patch < 4
    if (major, minor) == (1, 12):
        return patch < 16
    return True
