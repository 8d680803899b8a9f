"""What a sweep says at a glance (pure): counts per verdict, and the Gateways whose hosts
mostly fail for one root cause, so that "everything behind Gateway X" is said once."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from edgedoctor.timefmt import parse_rfc3339

# A Gateway-wide group needs at least this many hosts sharing the cause, and more than
# half of the Gateway's hosts: two hosts failing alike are already a pattern worth one line.
GROUP_MIN_HOSTS = 2


def groups(hosts: list[Any]) -> list[dict[str, Any]]:
    """Per (context, Gateway): the root cause shared by most of its hosts, if any."""
    by_gw: dict[tuple[str, str], list[Any]] = {}
    for h in hosts:
        if h.gateway:
            by_gw.setdefault((h.context or "", h.gateway), []).append(h)
    out = []
    for (context, gw), members in sorted(by_gw.items()):
        codes = Counter(h.code for h in members if h.verdict in ("critical", "warning") and h.code)
        if not codes:
            continue
        code, n = codes.most_common(1)[0]
        if n >= GROUP_MIN_HOSTS and n * 2 > len(members):
            sharing = [h for h in members if h.code == code]
            out.append({
                "context": context or None,
                "gateway": gw,
                "code": code,
                "verdict": sharing[0].verdict,
                "title": sharing[0].title,
                "hosts": [h.host for h in sharing],
                "gateway_hosts": len(members),
            })
    return out


def summary(result: Any) -> dict[str, Any]:
    counts = Counter(h.verdict for h in result.hosts)
    out: dict[str, Any] = {v: counts.get(v, 0) for v in ("ok", "warning", "critical", "unknown")}
    out["groups"] = groups(result.hosts)
    return out


# The facts below read a full result (edgedoctor.fleet.sweep.HostResult).


def _node_details(h: Any, node: str) -> dict[str, Any]:
    n = h.diagnosis.node(node)
    return n.details if n is not None else {}


def served_expiry(h: Any) -> datetime | None:
    """The earliest notAfter of the leaf certificates the edge served for the host."""
    times = [parse_rfc3339(c.get("not_after")) for c in _node_details(h, "served-certificate").get("certificates") or []
             if isinstance(c, dict)]
    times = [t for t in times if t is not None]
    return min(times) if times else None


def certificate_renewal(h: Any) -> datetime | None:
    return parse_rfc3339(_node_details(h, "certificate").get("renewalTime"))


def certificate_expiry(h: Any) -> datetime | None:
    """The served certificate's expiry, else the Certificate's notAfter (offline)."""
    return served_expiry(h) or parse_rfc3339(_node_details(h, "certificate").get("notAfter"))


def dns_points_to_gateway(h: Any) -> bool | None:
    """Whether every server that answered for the host gave only the Gateway's addresses;
    None when DNS was not probed or the Gateway's address is not known."""
    d = _node_details(h, "dns")
    expected = {str(a) for a in d.get("expected") or []}
    if h.evidence.dns is None or not expected:
        return None
    answers = [v for v in (d.get("authoritative") or []) + (d.get("recursive") or [])
               if isinstance(v, dict) and v.get("addresses")]
    if not answers:
        return False
    def fine(v: dict[str, Any]) -> bool:
        # The expected value may be a name (a target annotation) reached through a CNAME.
        cnames = {str(c).rstrip(".") for c in v.get("cnames") or []}
        return set(map(str, v["addresses"])) <= expected or bool(cnames & expected)

    return all(fine(v) for v in answers)
