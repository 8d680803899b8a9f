"""Two wildcard rules that must never be mixed up.

Gateway API (listener and route hostnames): `*.example.com` is a suffix match
covering one *or more* labels. RFC 6125 (certificate SANs): `*.example.com`
covers exactly one label. A host can therefore be routed by a wildcard listener
and still be refused by every TLS client.
"""

from __future__ import annotations


def gw_matches(pattern: str | None, host: str) -> bool:
    """Does a Gateway API hostname (listener or route) accept `host`? Empty accepts all."""
    if not pattern:
        return True
    pattern = pattern.lower().rstrip(".")
    if pattern.startswith("*."):
        suffix = pattern[1:]  # ".example.com"
        return host.endswith(suffix) and len(host) > len(suffix)
    return pattern == host


def gw_intersects(a: str | None, b: str | None) -> bool:
    """Do two Gateway API hostnames (either may be a wildcard or empty) intersect?"""
    if not a or not b:
        return True
    a, b = a.lower(), b.lower()
    if a == b:
        return True
    if a.startswith("*.") and b.startswith("*."):
        return a.endswith(b[1:]) or b.endswith(a[1:])
    if a.startswith("*."):
        return gw_matches(a, b)
    if b.startswith("*."):
        return gw_matches(b, a)
    return False


def listener_rank(pattern: str | None) -> tuple[int, int]:
    """Precedence of a listener hostname: exact > longer wildcard > shorter > empty."""
    if not pattern:
        return (0, 0)
    if pattern.startswith("*."):
        return (1, pattern.count("."))
    return (2, len(pattern))


def route_rank(pattern: str | None) -> tuple[int, int]:
    """Precedence across routes: characters of the matching non-wildcard hostname, then
    characters of the matching hostname (Gateway API HTTPRoute spec)."""
    if not pattern:
        return (0, 0)
    if pattern.startswith("*."):
        return (0, len(pattern))
    return (len(pattern), len(pattern))


def san_covers(san: str, host: str) -> bool:
    """RFC 6125 section 6.4.3: a wildcard is the whole left-most label and covers one label."""
    san = san.lower().rstrip(".")
    host = host.lower().rstrip(".")
    if san == host:
        return True
    if san.startswith("*."):
        rest = san[2:]
        head, _, tail = host.partition(".")
        return bool(head) and tail == rest
    return False


def sans_cover(sans: list[str], host: str) -> bool:
    return any(san_covers(s, host) for s in sans)
