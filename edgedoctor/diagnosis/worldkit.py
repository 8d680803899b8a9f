"""What the parts of the probes' layer (world*.py) share: the names, the parsed DNS views,
and the base of the analysis (its input from the cluster is `edgefacts.EdgeFacts`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from edgedoctor.diagnosis.edgefacts import EdgeFacts
from edgedoctor.diagnosis.findings import failure_reason, new_finding
from edgedoctor.model import Finding, NodeResult
from edgedoctor.timefmt import parse_rfc3339

DEFAULT_RENEW_BEFORE = 15 * 24 * 3600


# cert-manager re-checks every 10 s and waits 60 s after the record is seen; five minutes
# of waiting means something is wrong.
DNS01_WAIT_THRESHOLD = 300


REDIRECT_STATUSES = (301, 302, 307, 308)


UNREACHED = ("timeout", "unreachable", "deadline", "no-address")


KNOWN_CAA_TAGS = ("issue", "issuewild", "iodef", "issuemail", "issuevmc", "contactemail", "contactphone")


@dataclass
class WorldOutcome:
    nodes: dict[str, NodeResult]
    findings: list[Finding]


# ----------------------------------------------------------------------------- helpers


def bare_name(name: str | None) -> str:
    return (name or "").strip().lower().rstrip(".")


def fqdn(name: str) -> str:
    return bare_name(name) + "."


def norm_target(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return bare_name(value)


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def txt_strings(value: str) -> str:
    """Presentation-format TXT (`"a" "b"`) to its text (`ab`), as registries read it."""
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        if value[i] == '"':
            i += 1
            buf = []
            while i < n and value[i] != '"':
                if value[i] == "\\" and i + 1 < n:
                    nxt = value[i + 1]
                    if nxt.isdigit() and i + 3 < n and value[i + 1 : i + 4].isdigit():
                        buf.append(chr(int(value[i + 1 : i + 4])))
                        i += 4
                        continue
                    buf.append(nxt)
                    i += 2
                    continue
                buf.append(value[i])
                i += 1
            out.append("".join(buf))
            i += 1
        elif value[i].isspace():
            i += 1
        else:
            j = i
            while j < n and not value[j].isspace():
                j += 1
            out.append(value[i:j])
            i = j
    return "".join(out)


def parse_registry(text: str) -> dict[str, str] | None:
    """`heritage=external-dns,external-dns/owner=x,external-dns/resource=y` -> labels."""
    if "heritage=" not in text:
        return None
    labels: dict[str, str] = {}
    for part in text.split(","):
        key, sep, val = part.strip().partition("=")
        if not sep:
            continue
        if key == "heritage":
            labels["heritage"] = val
        elif key.startswith("external-dns/"):
            labels[key[len("external-dns/") :]] = val
    return labels if labels.get("heritage") == "external-dns" else None


# ----------------------------------------------------------------------------- DNS views


def dns_queries(dns: dict[str, Any], purpose: str) -> list[dict[str, Any]]:
    return [q for q in dns.get("queries") or [] if isinstance(q, dict) and q.get("purpose") == purpose]


def address_views(dns: dict[str, Any], host: str, role: str) -> list[dict[str, Any]]:
    """Per server of `role`: what it says about the host's A/AAAA (CNAME hops included)."""
    qhost = fqdn(host)
    entries = dns_queries(dns, "address")
    servers: list[str] = []
    for q in entries:
        own = q.get("role") == role and q.get("qname") == qhost and not q.get("chain_from")
        if own and q["server"] not in servers:
            servers.append(q["server"])
    views = []
    for server in servers:
        own = [q for q in entries if q.get("server") == server and q.get("qname") == qhost and not q.get("chain_from")]
        hops = [q for q in entries if q.get("chain_from") == qhost
                and q.get("chain_server", q.get("server")) == server and q.get("chain_role", role) == role]
        views.append(server_view(server, role, qhost, own, hops))
    return views


def server_view(server: str, role: str, qhost: str, own: list[dict[str, Any]], hops: list[dict[str, Any]]) -> dict[str, Any]:
    records = [rr for q in own + hops for rr in q.get("answer") or []]
    # Follow the chain from the host through the answers.
    name, cnames, seen = qhost, [], {qhost}
    while True:
        nxt = next((rr for rr in records if rr.get("name") == name and rr.get("type") == "CNAME"), None)
        if nxt is None:
            break
        name = fqdn(nxt["value"])
        cnames.append(bare_name(name))
        if name in seen:
            break
        seen.add(name)
    final = [rr for rr in records if rr.get("name") == name and rr.get("type") in ("A", "AAAA")]
    addresses = list(dict.fromkeys(norm_target(rr["value"]) for rr in final))
    errors = [q for q in own + hops if q.get("error") or q.get("rcode") not in ("NOERROR", "NXDOMAIN")]
    view: dict[str, Any] = {
        "server": server,
        "role": role,
        "addresses": addresses,
        "cnames": cnames,
        "ttl": min((int(rr.get("ttl") or 0) for rr in final), default=None),
    }
    neg = [rr for q in own for rr in q.get("authority") or [] if rr.get("type") == "SOA"]
    if neg and not addresses:
        # How long a resolver may cache this negative answer (RFC 2308: the SOA's TTL here).
        view["negative_ttl"] = min(int(rr.get("ttl") or 0) for rr in neg)
    if addresses:
        view["state"] = "answer"
        if errors:
            view["partial"] = [query_error(q) for q in errors]
    elif any(q.get("rcode") == "NXDOMAIN" for q in own):
        view["state"] = "nxdomain"
    elif own and len(errors) < len(own + hops):
        view["state"] = "nodata"
    else:
        view["state"] = "error"
        view["error"] = "; ".join(dict.fromkeys(query_error(q) for q in errors)) or "no answer"
    return view


def query_error(q: dict[str, Any]) -> str:
    if q.get("error"):
        return str(q["error"])
    return f"{q.get('server')} answered {q.get('rcode')} for {bare_name(q.get('qname'))} {q.get('qtype')}"


def wildcard_answers(dns: dict[str, Any]) -> dict[str, Any]:
    """Wildcard evidence from the random-label probes at the authoritative servers.

    `sibling` (edgedoctor-<hex>.<parent>) answering means a wildcard covers the host's level.
    `child` (edgedoctor-<hex>.<host>) answering as well means the host has no node of its own:
    a name that exists stops wildcard synthesis below it (RFC 4592 closest encloser), so an
    existing host gives NXDOMAIN for its child while a wildcard-only host does not.
    """
    sib: dict[str, list[str]] = {}
    child: dict[str, list[str]] = {}
    asked = False
    for q in dns_queries(dns, "wildcard-probe"):
        if q.get("error") or q.get("rcode") not in ("NOERROR", "NXDOMAIN"):
            continue
        asked = True
        addrs = [norm_target(rr["value"]) for rr in q.get("answer") or [] if rr.get("type") in ("A", "AAAA")]
        cn = [rr for rr in q.get("answer") or [] if rr.get("type") == "CNAME"]
        target = sib if q.get("probe", "sibling") == "sibling" else child
        if addrs or cn:
            target[q["server"]] = addrs or [bare_name(cn[0]["value"])]
    return {
        "asked": asked,
        "wildcard_exists": bool(sib),
        "host_only_by_wildcard": bool(sib) and bool(child),
        "wildcard_answer": sorted({a for v in sib.values() for a in v}),
        "servers": sorted(sib),
    }


def duration_text(seconds: int | float) -> str:
    """`1800` -> `30 min (1800 s)`: people read minutes, dig shows seconds."""
    secs = int(seconds)
    if secs < 120:
        return f"{secs} s"
    return f"{secs // 60} min ({secs} s)"


class WorldBase:
    """The state the parts of the probes' layer share, and how they report."""

    def __init__(self, dns: dict[str, Any] | None, tls: list[dict[str, Any]] | None,
                 http: list[dict[str, Any]] | None, facts: EdgeFacts) -> None:
        self.dns, self.tls, self.http, self.facts = dns, tls, http, facts
        self.host = bare_name(facts.host)
        self.now = parse_rfc3339(facts.now)
        self.nodes: dict[str, NodeResult] = {}
        self.findings: list[Finding] = []
        self.proxied = False  # the host resolves into Cloudflare's ranges
        self.auth_state: str | None = None
        self.served_ok: bool | None = None  # a served certificate is valid now and covers the host
        self.caa: dict[str, Any] | None = None
        self.challenges: list[dict[str, Any]] | None = None

    def add(self, code: str, message: str, *, severity: str | None = None, node: str | None = None,
            evidence: dict[str, Any] | None = None, commands: Iterable[str] = (),
            explained_by: str | None = None) -> Finding:
        """As `Ctx.add`: the catalog entry gives the severity and the node."""
        f = new_finding(code, message, severity=severity, node=node, evidence=evidence,
                        commands=commands, explained_by=explained_by)
        self.findings.append(f)
        return f

    def guard(self, node: str, fn: Callable[[], None]) -> None:
        """A bug in one part must show as an error node, not hide the others' results
        (reported as the cluster layers' guard reports it)."""
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - reported, not swallowed
            self.nodes[node] = NodeResult(node, "error", failure_reason(getattr(fn, "__name__", node), e))
