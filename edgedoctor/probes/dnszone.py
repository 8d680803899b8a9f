"""Which zone a host lives in and who serves it: the SOA walk, the NS set and its addresses,
and the resolvers the system would use."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor, wait
from typing import Any, Protocol

from edgedoctor.probes import dnswire
from edgedoctor.probes.dnsnames import fqdn, zone_candidates

Server = tuple[str, int]


class Asker(Protocol):
    def ask(self, qname: str, qtype: str, server: Server, *, role: str,
            purpose: str) -> tuple[dict[str, Any], Any]: ...


def soa_from(records: list[dict[str, Any]], owner: str | None = None) -> dict[str, Any] | None:
    """The SOA among a section's records (of `owner` when given), as the evidence keeps it."""
    for rr in records:
        if rr["type"] != "SOA" or (owner is not None and rr["name"] != owner):
            continue
        parts = rr["value"].split()
        if len(parts) < 7:
            continue
        try:
            serial, refresh, retry, expire, minimum = (int(p) for p in parts[2:7])
        except ValueError:
            continue
        return {
            "zone": rr["name"].rstrip("."),
            "mname": parts[0],
            "rname": parts[1],
            "serial": serial,
            "refresh": refresh,
            "retry": retry,
            "expire": expire,
            "minimum": minimum,
            "ttl": rr["ttl"],
        }
    return None


def find_zone(
    rec: Asker, host: str, servers: Sequence[Server], role: str
) -> tuple[str | None, dict[str, Any] | None, str | None]:
    """SOA walk up from the host: the first SOA owner seen (answer or authority) is the zone."""
    if not servers:
        return None, None, "no server to ask for the zone's SOA"
    problems: list[str] = []
    nxdomain: list[str] = []
    for name in zone_candidates(host):
        for server in servers:
            entry, _ = rec.ask(name, "SOA", server, role=role, purpose="soa")
            if entry["error"]:
                problems.append(entry["error"])
                continue
            if entry["rcode"] not in ("NOERROR", "NXDOMAIN"):
                problems.append(f"{entry['server']} answered {entry['rcode']} for {name} SOA")
                continue
            soa = soa_from(entry["answer"], fqdn(name))
            if soa is None:
                soa = soa_from(entry["authority"])
                if soa is not None:
                    # In a negative answer the SOA's TTL is already min(TTL, MINIMUM);
                    # the apex question asked next replaces it with the real record.
                    soa["from_authority"] = True
            if soa is not None:
                return soa.pop("zone"), soa, None
            if entry["rcode"] == "NXDOMAIN":
                nxdomain.append(f"{entry['server']} answers NXDOMAIN for {name}")
            # NOERROR without SOA (a referral or a CNAME): try the parent.
            break
    seen = list(dict.fromkeys(problems))
    if nxdomain:
        # Say what was answered: "no such name", from which server, not a missing SOA.
        why = "; ".join(nxdomain[:2]) + " (no SOA record names the zone)"
        if seen:
            why += "; " + "; ".join(seen[:2])
    else:
        why = "; ".join(seen[:4]) if seen else "no SOA found on the way up"
    return None, None, f"could not find the zone of {host}: {why}"


def ask_apex_soa(rec: Asker, zone: str, server: Server, result: dict[str, Any]) -> None:
    """The zone's own SOA from one of its servers: it replaces one read from a negative answer."""
    entry, _ = rec.ask(zone, "SOA", server, role="authoritative", purpose="soa")
    soa = soa_from(entry["answer"], fqdn(zone))
    if soa is not None and (result.get("soa") is None or result["soa"].get("from_authority")):
        soa.pop("zone", None)
        result["soa"] = soa


def system_nameservers() -> list[Server]:
    import dns.resolver

    try:
        resolver = dns.resolver.Resolver(configure=True)
    except Exception:
        return []
    out: list[Server] = []
    for ns in resolver.nameservers:
        text = str(ns)
        try:
            ipaddress.ip_address(text)
        except ValueError:
            continue  # DoH URLs and the like are not asked by this probe
        out.append((text, int(getattr(resolver, "port", 53) or 53)))
    return out


def discover_ns(
    rec: Asker, zone: str, recursive: Sequence[Server], executor: Executor | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """The zone's name servers and their addresses, from the resolvers (glue as a fallback).

    executor: where the address questions run (a sweep's threads); None: threads of its own."""
    names: list[str] = []
    glue: dict[str, list[str]] = {}
    problems: list[str] = []
    for server in recursive:
        entry, response = rec.ask(zone, "NS", server, role="recursive", purpose="ns")
        if entry["error"] or entry["rcode"] != "NOERROR":
            problems.append(entry["error"] or f"{entry['server']} answered {entry['rcode']} for {zone} NS")
            continue
        names = [fqdn(rr["value"]) for rr in entry["answer"] if rr["type"] == "NS"]
        if response is not None:
            for rrset in response.additional:
                if rrset.rdtype in (dnswire.A, dnswire.AAAA):
                    glue.setdefault(rrset.name.lower(), []).extend(rrset.values)
        if names:
            break
    if not names:
        why = "; ".join(dict.fromkeys(problems)) or "the NS answer was empty"
        return [], f"could not find the name servers of {zone}: {why}"
    addresses = _ns_addresses(rec, names, recursive, executor)
    servers: list[dict[str, Any]] = []
    for name in names:
        for addr in addresses[name] or glue.get(name, []):
            servers.append({"name": name, "address": addr, "port": 53})
    if not servers:
        return [], f"none of the name servers of {zone} ({', '.join(names)}) has an address"
    return servers, None


def _ns_addresses(rec: Asker, names: list[str], recursive: Sequence[Server],
                  executor: Executor | None) -> dict[str, list[str]]:
    addresses: dict[str, list[str]] = {n: [] for n in names}
    lock = threading.Lock()

    def lookup(name: str, qtype: str) -> None:
        for server in recursive:
            entry, _ = rec.ask(name, qtype, server, role="recursive", purpose="ns-address")
            if entry["error"] or entry["rcode"] not in ("NOERROR", "NXDOMAIN"):
                continue
            with lock:
                for rr in entry["answer"]:
                    if rr["type"] == qtype and rr["name"] == name and rr["value"] not in addresses[name]:
                        addresses[name].append(rr["value"])
            return

    if executor is not None:
        wait([executor.submit(lookup, name, qtype) for name in names for qtype in ("A", "AAAA")])
        return addresses
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="edgedoctor-ns") as pool:
        for name in names:
            for qtype in ("A", "AAAA"):
                pool.submit(lookup, name, qtype)
    return addresses
