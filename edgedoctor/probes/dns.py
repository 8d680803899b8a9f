"""The DNS probe: what the zone's authoritative servers and the resolvers answer for a host.

Every question is one message to one server (edgedoctor.probes.dnsask), so the evidence
records which server said what, with the AA/TC flags and the rcode, and a dead server costs
exactly one per-query timeout. The questions that do not wait for another's answer are asked
at once; the zone's SOA walk and name servers are in edgedoctor.probes.dnszone.

`deadline` is an absolute `time.monotonic()` value; a question that would start after it is
recorded with the error "deadline passed" instead of being sent.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor, wait
from typing import Any

from edgedoctor.probes.dnsask import Recorder, Server
from edgedoctor.probes.dnscache import ZoneCache
from edgedoctor.probes.dnsnames import (
    bare,
    caa_names,
    challenge_name,
    fqdn,
    in_zone,
    registered_domain,
    server_label,
    txt_registry_names,
)
from edgedoctor.probes.dnszone import ask_apex_soa, discover_ns, find_zone, system_nameservers

MAX_CNAME_HOPS = 8


def _address_values(entries: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for e in entries:
        for rr in e.get("answer") or []:
            if rr["type"] in ("A", "AAAA") and rr["value"] not in out:
                out.append(rr["value"])
    return out


def _chain_end(answer: list[dict[str, Any]], qname: str, seen: set[str]) -> str:
    """Where the CNAME chain that starts at `qname` ends inside one answer."""
    name = qname
    while True:
        nxt = next((rr for rr in answer if rr["name"] == name and rr["type"] == "CNAME"), None)
        if nxt is None:
            return name
        name = fqdn(nxt["value"])
        if name in seen and name != qname:
            return name
        seen.add(name)


def follow(
    rec: Recorder,
    host: str,
    qtype: str,
    server: Server,
    role: str,
    zone_of: Callable[[], str | None],
    recursive: Sequence[Server],
) -> list[dict[str, Any]]:
    """Ask for host/qtype and follow a CNAME chain the server did not finish."""
    entries: list[dict[str, Any]] = []
    qname = fqdn(host)
    seen = {qname}
    ask_server, ask_role = server, role
    extra: dict[str, Any] | None = None
    for _ in range(MAX_CNAME_HOPS):
        entry, _resp = rec.ask(qname, qtype, ask_server, role=ask_role, purpose="address", extra=extra)
        entries.append(entry)
        if entry["error"] or entry["rcode"] != "NOERROR":
            break
        answer = entry["answer"]
        name = _chain_end(answer, qname, seen)
        if name == qname or any(rr["name"] == name and rr["type"] == qtype for rr in answer):
            break
        # The chain leaves what this server answered for: ask for the target.
        if name in seen and name == qname:
            break
        qname = name
        # Tie the hop to the server whose answer it continues, even when asked elsewhere.
        extra = {"chain_from": fqdn(host), "chain_server": server_label(*server), "chain_role": role}
        if role == "authoritative" and not in_zone(name, zone_of()):
            if not recursive:
                break
            ask_server, ask_role = recursive[0], "recursive"
    return entries


class _Probe:
    """One host's DNS probe: the questions in flight, the addresses found so far."""

    def __init__(self, host: str, rec: Recorder, recursive: list[Server],
                 on_addresses: Callable[[list[str]], None] | None, executor: Executor | None) -> None:
        self.host, self.rec, self.recursive, self.on_addresses = host, rec, recursive, on_addresses
        self.zone: str | None = None
        self.found: list[str] = []
        self.found_lock = threading.Lock()
        self.own_pool = executor is None
        self.pool = executor or ThreadPoolExecutor(max_workers=16, thread_name_prefix="edgedoctor-dns")
        self.futures: list[Any] = []

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        self.futures.append(self.pool.submit(fn, *args))

    def report(self, entries: list[dict[str, Any]]) -> None:
        if self.on_addresses is None:
            return
        with self.found_lock:
            new = [a for a in _address_values(entries) if a not in self.found]
            self.found.extend(new)
            snapshot = list(self.found)
        if new:
            # The caller's bug must not lose the DNS evidence.
            with contextlib.suppress(Exception):
                self.on_addresses(snapshot)

    def addresses(self, server: Server, role: str, qtype: str) -> None:
        # The zone is read when a CNAME hop needs it: by then the SOA walk has usually ended.
        self.report(follow(self.rec, self.host, qtype, server, role, lambda: self.zone, self.recursive))

    def ask(self, name: str, qtype: str, server: Server, role: str, purpose: str,
            extra: dict[str, Any] | None = None, shared: bool | None = None) -> None:
        self.rec.ask(name, qtype, server, role=role, purpose=purpose, extra=extra, shared=shared)

    def ask_first(self, name: str, qtype: str, servers: Sequence[Server], role: str, purpose: str) -> None:
        """Ask the servers in turn until one gives an answer (for CAA one view is enough)."""
        for server in servers:
            entry, _ = self.rec.ask(name, qtype, server, role=role, purpose=purpose)
            if not entry["error"] and entry["rcode"] in ("NOERROR", "NXDOMAIN"):
                return

    def zone_free(self, server: Server, extra_txt: Sequence[str], acme_names: Sequence[str]) -> None:
        """Questions for an authoritative server that do not depend on knowing the zone."""
        for qtype in ("A", "AAAA"):
            self.submit(self.addresses, server, "authoritative", qtype)
        for name in dict.fromkeys(bare(n) for n in extra_txt if bare(n)):
            self.submit(self.ask, name, "TXT", server, "authoritative", "txt-registry")
        for name in dict.fromkeys(challenge_name(n) for n in acme_names if bare(n)):
            self.submit(self.ask, name, "TXT", server, "authoritative", "acme-challenge")

    def authoritative(self, given: list[Server] | None, extra_txt: Sequence[str],
                      acme_names: Sequence[str]) -> tuple[list[dict[str, Any]], dict[str, Any] | None, str | None]:
        """(the zone's servers, its SOA, why the zone is not known): sets self.zone."""
        auth: list[dict[str, Any]] = []
        if given is not None:
            auth = [{"name": None, "address": a, "port": p} for a, p in given]
            # Known servers: ask them at once, alongside the SOA walk.
            for server in given:
                self.zone_free(server, extra_txt, acme_names)
            zone, soa, zone_error = find_zone(self.rec, self.host, list(given), "authoritative")
        else:
            zone, soa, zone_error = find_zone(self.rec, self.host, self.recursive, "recursive")
            if zone is not None:
                auth, ns_error = discover_ns(self.rec, zone, self.recursive, None if self.own_pool else self.pool)
                if ns_error:
                    zone_error = ns_error
                for s in auth:
                    self.zone_free((s["address"], s["port"]), extra_txt, acme_names)
        self.zone = zone
        return auth, soa, zone_error

    def zone_questions(self, auth_servers: list[Server], result: dict[str, Any]) -> None:
        """What needs the zone: its apex SOA, the wildcard probes, CAA up to the registered domain."""
        zone, host = self.zone, self.host
        for server in auth_servers:
            if zone is not None:
                self.submit(ask_apex_soa, self.rec, zone, server, result)
            if zone is not None and host != zone:
                label = f"edgedoctor-{secrets.token_hex(6)}"
                parent = host.split(".", 1)[1]
                # The sibling's answer is the parent's: a sweep asks it once per parent.
                cache = self.rec.cache
                sibling = cache.absent_label if cache is not None else label
                self.submit(self.ask, f"{sibling}.{parent}", "A", server,
                            "authoritative", "wildcard-probe", {"probe": "sibling"}, cache is not None)
                self.submit(self.ask, f"{label}.{host}", "A", server,
                            "authoritative", "wildcard-probe", {"probe": "child"})
        for name in caa_names(host):
            servers, role = ((auth_servers, "authoritative") if in_zone(name, zone) and auth_servers
                             else (self.recursive, "recursive"))
            if servers:
                self.submit(self.ask_first, name, "CAA", servers, role, "caa")

    def close(self) -> None:
        """Drop the questions not started yet (the probe's deadline passed)."""
        if self.own_pool:
            self.pool.shutdown(wait=False, cancel_futures=True)
        else:
            for fut in self.futures:
                fut.cancel()

    def wait(self, deadline: float | None) -> None:
        if deadline is None:
            wait(self.futures)
            return
        # Every question honours the deadline itself; the grace covers a TCP retry in flight.
        wait(self.futures, timeout=max(0.0, deadline - time.monotonic()) + 0.25)


def probe_dns(
    host: str,
    *,
    nameservers: list[tuple[str, int]] | None,
    authoritative: list[tuple[str, int]] | None,
    extra_txt: Sequence[str] = (),
    acme_names: Sequence[str] = (),
    timeout: float = 3.0,
    deadline: float | None = None,
    on_addresses: Callable[[list[str]], None] | None = None,
    cache: ZoneCache | None = None,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Ask the zone's authoritative servers and the resolvers about `host`.

    nameservers: recursive resolvers; None means the system's, [] means none.
    authoritative: ask these as the zone's servers instead of discovering them.
    timeout: per question. deadline: absolute time.monotonic() for the whole probe.
    on_addresses: called (from a worker thread) with the addresses found so far each time an
    address question completes, so a caller can start TLS probes before DNS is finished.
    cache: a sweep's ZoneCache: the zone's answers are asked once for all its hosts.
    executor: a sweep's threads (probes.runner.shared_executor); None: the probe's own.
    """
    started = time.monotonic()
    host = bare(host)
    rec = Recorder(timeout, deadline, cache)
    recursive: list[Server] = list(system_nameservers() if nameservers is None else nameservers)
    result: dict[str, Any] = {
        "host": host, "zone": None, "zone_error": None, "soa": None, "authoritative_servers": [],
        "recursive_servers": [{"address": a, "port": p} for a, p in recursive],
        "queries": [], "elapsed_ms": 0.0,
    }
    probe = _Probe(host, rec, recursive, on_addresses, executor)
    try:
        # The resolvers' view does not depend on the zone: start it at once.
        for server in recursive:
            for qtype in ("A", "AAAA"):
                probe.submit(probe.addresses, server, "recursive", qtype)
        auth, soa, zone_error = probe.authoritative(authoritative, extra_txt, acme_names)
        result["zone"], result["soa"], result["zone_error"] = probe.zone, soa, zone_error
        result["authoritative_servers"] = auth
        probe.zone_questions([(s["address"], s["port"]) for s in auth], result)
        probe.wait(deadline)
    finally:
        probe.close()
    result["queries"] = rec.entries()
    result["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


__all__ = ["MAX_CNAME_HOPS", "ZoneCache", "follow", "probe_dns", "registered_domain", "server_label",
           "txt_registry_names"]
