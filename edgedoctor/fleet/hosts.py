"""Which hostnames a cluster serves, from its objects alone (pure).

A host is served when an HTTPRoute or GRPCRoute names it and refers to a Gateway (whether
or not the Gateway accepts it: a route that does not attach is exactly what a sweep must
report), or when a Gateway listener names it exactly. Wildcards are not hosts: nobody
can probe `*.example.com`; the names under it appear through the routes that name them.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any

from edgedoctor.diagnosis.index import as_dict, as_list, labels, name_of, ns_of, spec
from edgedoctor.hostname import HostnameError, normalize_host

ROUTE_KINDS = ("HTTPRoute", "GRPCRoute")


class SelectorError(ValueError):
    """A --selector kubectl would refuse; the message is one line for the user."""


@dataclass
class HostEntry:
    host: str
    # "ns/name" of the Gateways the host's routes (or listeners) belong to, first seen first.
    gateways: list[str] = field(default_factory=list)
    # Where the name comes from: "HTTPRoute ns/name", "Gateway ns/name listener https".
    sources: list[str] = field(default_factory=list)

    @property
    def gateway(self) -> str | None:
        return self.gateways[0] if self.gateways else None


_REQ = re.compile(
    r"^\s*(?:(?P<not>!)\s*(?P<nkey>[^\s!=,()]+)"
    r"|(?P<key>[^\s!=,()]+)\s*(?:(?P<op>==|=|!=)\s*(?P<val>[^\s!=,()]*)"
    r"|\s+(?P<setop>in|notin)\s*\((?P<set>[^()]*)\))?)\s*$"
)


def parse_selector(text: str) -> list[tuple[str, str, set[str]]]:
    """kubectl's label selector: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`,
    joined by commas. Returns (key, op, values) with op in exists|!exists|in|notin."""
    reqs: list[tuple[str, str, set[str]]] = []
    parts: list[str] = []
    depth, cur = 0, ""
    for ch in text:  # split on commas outside parentheses
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    for part in parts:
        m = _REQ.match(part)
        if not part.strip() or m is None:
            raise SelectorError(f"--selector {text!r}: cannot parse {part.strip()!r} (use k=v, k!=v, k, !k, k in (a,b))")
        if m.group("nkey"):
            reqs.append((m.group("nkey"), "!exists", set()))
        elif m.group("op"):
            vals = {m.group("val")}
            reqs.append((m.group("key"), "notin" if m.group("op") == "!=" else "in", vals))
        elif m.group("setop"):
            vals = {v.strip() for v in m.group("set").split(",") if v.strip()}
            reqs.append((m.group("key"), m.group("setop"), vals))
        else:
            reqs.append((m.group("key"), "exists", set()))
    return reqs


def selector_matches(reqs: list[tuple[str, str, set[str]]], obj_labels: dict[str, str]) -> bool:
    for key, op, vals in reqs:
        present = key in obj_labels
        if op == "exists" and not present:
            return False
        if op == "!exists" and present:
            return False
        if op == "in" and (not present or obj_labels[key] not in vals):
            return False
        if op == "notin" and present and obj_labels[key] in vals:
            return False
    return True


def _gateway_refs(route: dict[str, Any]) -> list[str]:
    out = []
    for p in as_list(spec(route).get("parentRefs")):
        p = as_dict(p)
        if (p.get("kind") or "Gateway") == "Gateway" and p.get("group") in (None, "", "gateway.networking.k8s.io") and p.get("name"):
            ref = f"{p.get('namespace') or ns_of(route)}/{p['name']}"
            if ref not in out:
                out.append(ref)
    return out


def _concrete(name: Any) -> str | None:
    if not isinstance(name, str) or not name or "*" in name:
        return None
    try:
        return normalize_host(name)
    except HostnameError:
        return None


def enumerate_hosts(
    objects: list[dict[str, Any]],
    *,
    namespaces: list[str] | None = None,
    selector: str | None = None,
    globs: list[str] | None = None,
) -> list[HostEntry]:
    """The hosts of a cluster, sorted by name. `namespaces` and `selector` narrow the routes
    and Gateways the names are taken from; `globs` (fnmatch, as a shell) narrow the names."""
    reqs = parse_selector(selector) if selector else None
    wanted_ns = set(namespaces or [])
    pats = [g.lower().rstrip(".") for g in globs or []]

    def keep_obj(o: dict[str, Any]) -> bool:
        if wanted_ns and ns_of(o) not in wanted_ns:
            return False
        return reqs is None or selector_matches(reqs, labels(o))

    def keep_host(h: str) -> bool:
        return not pats or any(fnmatch.fnmatchcase(h, p) for p in pats)

    found: dict[str, HostEntry] = {}

    def add(h: str, gateway: str | None, source: str) -> None:
        if not keep_host(h):
            return
        e = found.setdefault(h, HostEntry(h))
        if gateway and gateway not in e.gateways:
            e.gateways.append(gateway)
        if source not in e.sources:
            e.sources.append(source)

    for o in objects:
        kind = o.get("kind")
        if kind in ROUTE_KINDS:
            gws = _gateway_refs(o)
            if not gws or not keep_obj(o):
                continue  # a route with no Gateway parent (a mesh route) is no edge host
            for raw in as_list(spec(o).get("hostnames")):
                h = _concrete(raw)
                if h:
                    for gw in gws:
                        add(h, gw, f"{kind} {ns_of(o)}/{name_of(o)}")
        elif kind == "Gateway" and keep_obj(o):
            gw = f"{ns_of(o)}/{name_of(o)}"
            for ls in as_list(spec(o).get("listeners")):
                ls = as_dict(ls)
                h = _concrete(ls.get("hostname"))
                if h:
                    add(h, gw, f"Gateway {gw} listener {ls.get('name')}")
    return [found[h] for h in sorted(found)]
