"""The DNS probe: what the zone's authoritative servers and the resolvers answer for a host.

Everything is asked with dnspython's low-level API (one message, one server, one answer) so
that the answer records which server said what, with the AA/TC flags and the rcode, and so
that a dead server costs exactly one per-query timeout. Nothing here raises for a DNS or
network failure: every question becomes a query entry, with an `error` when it got no answer.

Queries are sent without EDNS, as a plain 512-byte UDP client: a truncated answer (TC) is
asked again over TCP and recorded with `via_tcp: true`.

`deadline` is an absolute `time.monotonic()` value; a question that would start after it is
recorded with the error "deadline passed" instead of being sent.
"""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver

from edgedoctor.probes.guard import DestinationRefused, check_destination

Server = tuple[str, int]

# Public suffixes with two labels that are common enough to matter for the CAA walk. Without
# a full Public Suffix List the walk stops at the last two labels otherwise (example.com).
_TWO_LABEL_SUFFIXES = frozenset(
    {
        "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "ltd.uk", "plc.uk",
        "com.au", "net.au", "org.au", "edu.au", "gov.au",
        "co.nz", "org.nz", "net.nz",
        "co.jp", "ne.jp", "or.jp", "ac.jp",
        "com.br", "net.br", "org.br",
        "co.za", "org.za",
        "com.cn", "net.cn", "org.cn",
        "co.in", "net.in", "org.in",
        "com.mx", "com.tr", "com.sg", "com.hk", "co.kr", "or.kr",
        "co.il", "com.ar", "com.pl", "com.ua",
    }
)

MAX_CNAME_HOPS = 8


def server_label(address: str, port: int) -> str:
    """`127.0.0.1:53`, `[::1]:53`: the form dig users read and --nameserver accepts."""
    if ":" in address:
        return f"[{address}]:{port}"
    return f"{address}:{port}"


def _fqdn(name: str) -> str:
    name = name.strip().lower()
    return name if name.endswith(".") else name + "."


def _bare(name: str) -> str:
    return name.strip().lower().rstrip(".")


def registered_domain(name: str) -> str:
    """The registrable domain by a small built-in suffix list (no PSL download)."""
    labels = _bare(name).split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in _TWO_LABEL_SUFFIXES:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def txt_registry_names(
    host: str, prefix: str = "", suffix: str = "", wildcard_replacement: str = ""
) -> list[str]:
    """The names where external-dns keeps its TXT registry records for `host`.

    Mirrors external-dns `registry/mapper` (ToTXTName): the typed names for A, AAAA and CNAME
    (`a-app.example.com`, or with `--txt-suffix=-%{record_type}` `app-a.example.com`), then the
    old same-name format (`app.example.com` itself, plus prefix/suffix), which is still read.
    A `*` first label is replaced by `wildcard_replacement` when given.
    """
    name = _bare(host)
    if not name:
        return []
    prefix, suffix = prefix.lower(), suffix.lower()
    first, _, rest = name.partition(".")
    if first == "*" and wildcard_replacement:
        first = wildcard_replacement.lower()
    templated = "%{record_type}" in prefix or "%{record_type}" in suffix

    def build(rtype: str) -> str:
        pre = prefix.replace("%{record_type}", rtype)
        suf = suffix.replace("%{record_type}", rtype)
        label = first if templated or not rtype else f"{rtype}-{first}"
        left = pre + label + suf
        return f"{left}.{rest}" if rest else left

    out = [build(rtype) for rtype in ("a", "aaaa", "cname")]
    old = build("")  # the old format: no type, a template collapses to nothing
    if old not in out:
        out.append(old)
    return out


def _rr_list(section: Iterable[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for rrset in section:
        rtype = dns.rdatatype.to_text(rrset.rdtype)
        for rdata in rrset:
            out.append(
                {
                    "name": rrset.name.to_text().lower(),
                    "type": rtype,
                    "ttl": int(rrset.ttl),
                    "value": rdata.to_text(),
                }
            )
    return out


class ZoneCache:
    """Answers that belong to a zone, not to a host, asked once per sweep and shared.

    A sweep of 500 hosts of one zone would otherwise ask the zone's SOA, its NS set and their
    addresses and the CAA records above the hosts 500 times. Only questions whose answer
    cannot depend on the host are cached (see `_CACHED`), keyed by the exact question and
    server; a host that hits the cache still records the entry in its own evidence, so its
    diagnosis reads the same answers it would have been given. Errors are not cached (a
    deadline or a lost packet belongs to the host that met it). Thread-safe: hosts asking
    the same question at once wait for the first one's answer instead of asking again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: dict[tuple[Any, ...], tuple[dict[str, Any], dns.message.Message | None]] = {}
        self._pending: dict[tuple[Any, ...], threading.Event] = {}
        self.sent = 0  # questions really sent through this cache (for tests and benchmarks)
        self.hits = 0

    def get_or_ask(
        self, key: tuple[Any, ...], ask: Callable[[], tuple[dict[str, Any], dns.message.Message | None]]
    ) -> tuple[dict[str, Any], dns.message.Message | None, bool]:
        """(entry, response, from_cache)."""
        while True:
            with self._lock:
                if key in self._answers:
                    self.hits += 1
                    entry, response = self._answers[key]
                    return dict(entry), response, True
                event = self._pending.get(key)
                if event is None:
                    event = self._pending[key] = threading.Event()
                    break
            event.wait()  # another host is asking; it either caches the answer or fails
        try:
            entry, response = ask()
            with self._lock:
                self.sent += 1
                if not entry["error"]:
                    self._answers[key] = (dict(entry), response)
            return entry, response, False
        finally:
            with self._lock:
                self._pending.pop(key, None)
            event.set()


# Purposes whose answers are the zone's, whatever host asked: the SOA walk (a name above the
# host is the same for its siblings), the NS set and their addresses, CAA up the tree.
_CACHED = frozenset({"soa", "ns", "ns-address", "caa"})


class _Recorder:
    """Sends single questions and keeps every entry, in the order they were asked."""

    def __init__(self, timeout: float, deadline: float | None, cache: ZoneCache | None = None) -> None:
        self.timeout = timeout
        self.deadline = deadline
        self.cache = cache
        self._lock = threading.Lock()
        self._seq = 0
        self._entries: list[tuple[int, dict[str, Any]]] = []

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for _, e in sorted(self._entries, key=lambda x: x[0])]

    def _budget(self) -> float | None:
        if self.deadline is None:
            return self.timeout
        left = self.deadline - time.monotonic()
        if left <= 0.01:
            return None
        return min(self.timeout, left)

    def ask(
        self,
        qname: str,
        qtype: str,
        server: Server,
        *,
        role: str,
        purpose: str,
        rd: bool | None = None,
        extra: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], dns.message.Message | None]:
        with self._lock:
            seq = self._seq
            self._seq += 1
        if self.cache is not None and purpose in _CACHED and extra is None:
            key = (_fqdn(qname), qtype, server, role, rd)

            def asked() -> tuple[dict[str, Any], dns.message.Message | None]:
                got, response = self._ask(qname, qtype, server, role=role, purpose=purpose, rd=rd, extra=extra)
                # Only the NS answer's glue is read from the message; the rest is not kept
                # (10,000 hosts' SOA-walk messages would weigh on the sweep's memory).
                return got, response if purpose == "ns" else None

            entry, response, _hit = self.cache.get_or_ask(key, asked)
            with self._lock:
                self._entries.append((seq, entry))
            return entry, response
        entry, response = self._ask(qname, qtype, server, role=role, purpose=purpose, rd=rd, extra=extra)
        with self._lock:
            self._entries.append((seq, entry))
        return entry, response

    def _ask(
        self,
        qname: str,
        qtype: str,
        server: Server,
        *,
        role: str,
        purpose: str,
        rd: bool | None,
        extra: dict[str, Any] | None,
    ) -> tuple[dict[str, Any], dns.message.Message | None]:
        address, port = server
        label = server_label(address, port)
        entry: dict[str, Any] = {
            "purpose": purpose,
            "server": label,
            "role": role,
            "qname": _fqdn(qname),
            "qtype": qtype,
            "rcode": None,
            "aa": False,
            "tc": False,
            "via_tcp": False,
            "answer": [],
            "authority": [],
            "error": None,
            "elapsed_ms": 0.0,
        }
        if extra:
            entry.update(extra)
        started = time.monotonic()
        response: dns.message.Message | None = None
        budget = self._budget()
        if budget is None:
            entry["error"] = f"deadline passed before asking {label}"
        else:
            response = self._exchange(entry, address, port, budget, rd if rd is not None else role == "recursive")
        entry["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
        if response is not None:
            entry["rcode"] = dns.rcode.to_text(response.rcode())
            entry["aa"] = bool(response.flags & dns.flags.AA)
            entry["answer"] = _rr_list(response.answer)
            entry["authority"] = _rr_list(response.authority)
        return entry, response

    def _exchange(
        self, entry: dict[str, Any], address: str, port: int, budget: float, rd: bool
    ) -> dns.message.Message | None:
        label = entry["server"]
        try:
            query = dns.message.make_query(entry["qname"], entry["qtype"])
        except Exception as e:  # a name dnspython cannot encode
            entry["error"] = f"cannot build the question: {e}"
            return None
        if not rd:
            query.flags &= ~dns.flags.RD
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        response: dns.message.Message | None = None
        try:
            check_destination(address)
        except DestinationRefused as e:
            entry["error"] = str(e)
            return None
        try:
            # A connected UDP socket turns an ICMP port-unreachable into an immediate
            # ConnectionRefusedError instead of a silent timeout.
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                sock.setblocking(False)
                sock.connect((address, port))
                response = dns.query.udp(query, address, timeout=budget, port=port, sock=sock)
        except dns.exception.Timeout:
            entry["error"] = f"timeout: no answer from {label} within {budget:.1f} s"
            return None
        except ConnectionRefusedError:
            entry["error"] = f"refused: nothing listens on {label} (ICMP port unreachable)"
            return None
        except OSError as e:
            entry["error"] = f"network error talking to {label}: {e.strerror or e}"
            return None
        except Exception as e:  # malformed or unexpected answers
            entry["error"] = f"malformed answer from {label}: {type(e).__name__}: {e}"
            return None
        if not response.flags & dns.flags.TC:
            return response
        entry["tc"] = True
        entry["via_tcp"] = True
        budget2 = self._budget()
        if budget2 is None:
            entry["error"] = f"truncated over UDP; deadline passed before retrying over TCP at {label}"
            return response
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(budget2)
                sock.connect((address, port))
                sock.setblocking(False)
                return dns.query.tcp(query, address, timeout=budget2, port=port, sock=sock)
        except dns.exception.Timeout:
            entry["error"] = f"truncated over UDP; timeout over TCP: no answer from {label} within {budget2:.1f} s"
        except TimeoutError:
            entry["error"] = f"truncated over UDP; timeout connecting over TCP to {label} within {budget2:.1f} s"
        except ConnectionRefusedError:
            entry["error"] = f"truncated over UDP; TCP connection to {label} refused"
        except OSError as e:
            entry["error"] = f"truncated over UDP; TCP error with {label}: {e.strerror or e}"
        except Exception as e:
            entry["error"] = f"truncated over UDP; malformed TCP answer from {label}: {type(e).__name__}: {e}"
        # Keep the truncated UDP answer: it still shows the rcode and flags.
        return response


def _soa_from(records: list[dict[str, Any]], owner: str | None = None) -> dict[str, Any] | None:
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


def _candidates(host: str) -> list[str]:
    labels = _bare(host).split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def _find_zone(
    rec: _Recorder, host: str, servers: Sequence[Server], role: str
) -> tuple[str | None, dict[str, Any] | None, str | None]:
    """SOA walk up from the host: the first SOA owner seen (answer or authority) is the zone."""
    if not servers:
        return None, None, "no server to ask for the zone's SOA"
    problems: list[str] = []
    nxdomain: list[str] = []
    for name in _candidates(host):
        for server in servers:
            entry, _ = rec.ask(name, "SOA", server, role=role, purpose="soa")
            if entry["error"]:
                problems.append(entry["error"])
                continue
            if entry["rcode"] not in ("NOERROR", "NXDOMAIN"):
                problems.append(f"{entry['server']} answered {entry['rcode']} for {name} SOA")
                continue
            soa = _soa_from(entry["answer"], _fqdn(name))
            if soa is None:
                soa = _soa_from(entry["authority"])
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


def _system_nameservers() -> list[Server]:
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


def _address_values(entries: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for e in entries:
        for rr in e.get("answer") or []:
            if rr["type"] in ("A", "AAAA") and rr["value"] not in out:
                out.append(rr["value"])
    return out


def _follow(
    rec: _Recorder,
    host: str,
    qtype: str,
    server: Server,
    role: str,
    zone_of: Callable[[], str | None],
    recursive: Sequence[Server],
) -> list[dict[str, Any]]:
    """Ask for host/qtype and follow a CNAME chain the server did not finish."""
    entries: list[dict[str, Any]] = []
    qname = _fqdn(host)
    seen = {qname}
    ask_server, ask_role = server, role
    extra: dict[str, Any] | None = None
    for _ in range(MAX_CNAME_HOPS):
        entry, _resp = rec.ask(qname, qtype, ask_server, role=ask_role, purpose="address", extra=extra)
        entries.append(entry)
        if entry["error"] or entry["rcode"] != "NOERROR":
            break
        # Walk the chain inside this answer.
        name = qname
        answer = entry["answer"]
        while True:
            nxt = next((rr for rr in answer if rr["name"] == name and rr["type"] == "CNAME"), None)
            if nxt is None:
                break
            name = _fqdn(nxt["value"])
            if name in seen and name != qname:
                break
            seen.add(name)
        if name == qname or any(rr["name"] == name and rr["type"] == qtype for rr in answer):
            break
        # The chain leaves what this server answered for: ask for the target.
        if name in seen and name == qname:
            break
        qname = name
        # Tie the hop to the server whose answer it continues, even when asked elsewhere.
        extra = {"chain_from": _fqdn(host), "chain_server": server_label(*server), "chain_role": role}
        zone = zone_of()
        in_zone = zone is not None and (_bare(name) == zone or _bare(name).endswith("." + zone))
        if role == "authoritative" and not in_zone:
            if not recursive:
                break
            ask_server, ask_role = recursive[0], "recursive"
    return entries


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
) -> dict[str, Any]:
    """Ask the zone's authoritative servers and the resolvers about `host`.

    nameservers: recursive resolvers; None means the system's, [] means none.
    authoritative: ask these as the zone's servers instead of discovering them.
    timeout: per question. deadline: absolute time.monotonic() for the whole probe.
    on_addresses: called (from a worker thread) with the addresses found so far each time an
    address question completes, so a caller can start TLS probes before DNS is finished.
    cache: a sweep's ZoneCache: the zone's answers are asked once for all its hosts.
    """
    started = time.monotonic()
    host = _bare(host)
    rec = _Recorder(timeout, deadline, cache)
    recursive: list[Server] = list(_system_nameservers() if nameservers is None else nameservers)
    result: dict[str, Any] = {
        "host": host,
        "zone": None,
        "zone_error": None,
        "soa": None,
        "authoritative_servers": [],
        "recursive_servers": [{"address": a, "port": p} for a, p in recursive],
        "queries": [],
        "elapsed_ms": 0.0,
    }
    found: list[str] = []
    found_lock = threading.Lock()

    def report(entries: list[dict[str, Any]]) -> None:
        if on_addresses is None:
            return
        with found_lock:
            new = [a for a in _address_values(entries) if a not in found]
            found.extend(new)
            snapshot = list(found)
        if new:
            # The caller's bug must not lose the DNS evidence.
            with contextlib.suppress(Exception):
                on_addresses(snapshot)

    pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="edgedoctor-dns")
    futures = []

    def submit(fn: Callable[..., Any], *args: Any) -> None:
        futures.append(pool.submit(fn, *args))

    zone_box: dict[str, str | None] = {"zone": None}

    def addr_task(server: Server, role: str, qtype: str) -> None:
        # The zone is read when a CNAME hop needs it: by then the SOA walk has usually ended.
        entries = _follow(rec, host, qtype, server, role, lambda: zone_box["zone"], recursive)
        report(entries)

    def zone_free(server: Server) -> None:
        """Questions for an authoritative server that do not depend on knowing the zone."""
        for qtype in ("A", "AAAA"):
            submit(addr_task, server, "authoritative", qtype)
        for name in dict.fromkeys(_bare(n) for n in extra_txt if _bare(n)):
            submit(_ask_plain, rec, name, "TXT", server, "authoritative", "txt-registry")
        for name in dict.fromkeys(_challenge_name(n) for n in acme_names if _bare(n)):
            submit(_ask_plain, rec, name, "TXT", server, "authoritative", "acme-challenge")

    try:
        # The resolvers' view does not depend on the zone: start it at once.
        for server in recursive:
            for qtype in ("A", "AAAA"):
                submit(addr_task, server, "recursive", qtype)

        auth: list[dict[str, Any]] = []
        if authoritative is not None:
            auth = [{"name": None, "address": a, "port": p} for a, p in authoritative]
            # Known servers: ask them at once, alongside the SOA walk.
            for server in authoritative:
                zone_free(server)
            zone, soa, zone_error = _find_zone(rec, host, list(authoritative), "authoritative")
        else:
            zone, soa, zone_error = _find_zone(rec, host, recursive, "recursive")
            if zone is not None:
                auth, ns_error = _discover_ns(rec, zone, recursive)
                if ns_error:
                    zone_error = ns_error
                for s in auth:
                    zone_free((s["address"], s["port"]))
        zone_box["zone"] = zone
        result["zone"], result["soa"], result["zone_error"] = zone, soa, zone_error
        result["authoritative_servers"] = auth
        auth_servers: list[Server] = [(s["address"], s["port"]) for s in auth]

        for server in auth_servers:
            if zone is not None:
                submit(_ask_soa, rec, zone, server, result)
            if zone is not None and host != zone:
                token = secrets.token_hex(6)
                parent = host.split(".", 1)[1]
                submit(_ask_plain, rec, f"edgedoctor-{token}.{parent}", "A", server,
                       "authoritative", "wildcard-probe", {"probe": "sibling"})
                submit(_ask_plain, rec, f"edgedoctor-{token}.{host}", "A", server,
                       "authoritative", "wildcard-probe", {"probe": "child"})
        for name in _caa_names(host):
            in_zone = zone is not None and (name == zone or name.endswith("." + zone))
            servers, role = (auth_servers, "authoritative") if in_zone and auth_servers else (recursive, "recursive")
            if servers:
                submit(_ask_first, rec, name, "CAA", servers, role, "caa")

        _wait(futures, deadline)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    result["queries"] = rec.entries()
    result["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


def _wait(futures: list[Any], deadline: float | None) -> None:
    if deadline is None:
        wait(futures)
        return
    # Every question honours the deadline itself; the grace covers a TCP retry in flight.
    wait(futures, timeout=max(0.0, deadline - time.monotonic()) + 0.25)


def _challenge_name(name: str) -> str:
    bare = _bare(name)
    if bare.startswith("*."):
        bare = bare[2:]
    if bare.startswith("_acme-challenge."):
        return bare
    return f"_acme-challenge.{bare}"


def _caa_names(host: str) -> list[str]:
    """From the host up to the registered domain, closest first."""
    top = registered_domain(host)
    labels = _bare(host).split(".")
    names = []
    for i in range(len(labels)):
        name = ".".join(labels[i:])
        names.append(name)
        if name == top:
            break
    return names


def _ask_plain(
    rec: _Recorder, name: str, qtype: str, server: Server, role: str, purpose: str,
    extra: dict[str, Any] | None = None,
) -> None:
    rec.ask(name, qtype, server, role=role, purpose=purpose, extra=extra)


def _ask_first(
    rec: _Recorder, name: str, qtype: str, servers: Sequence[Server], role: str, purpose: str
) -> None:
    """Ask the servers in turn until one gives an answer (for CAA one view is enough)."""
    for server in servers:
        entry, _ = rec.ask(name, qtype, server, role=role, purpose=purpose)
        if not entry["error"] and entry["rcode"] in ("NOERROR", "NXDOMAIN"):
            return


def _ask_soa(rec: _Recorder, zone: str, server: Server, result: dict[str, Any]) -> None:
    entry, _ = rec.ask(zone, "SOA", server, role="authoritative", purpose="soa")
    soa = _soa_from(entry["answer"], _fqdn(zone))
    if soa is not None and (result.get("soa") is None or result["soa"].get("from_authority")):
        soa.pop("zone", None)
        result["soa"] = soa


def _discover_ns(
    rec: _Recorder, zone: str, recursive: Sequence[Server]
) -> tuple[list[dict[str, Any]], str | None]:
    names: list[str] = []
    glue: dict[str, list[str]] = {}
    problems: list[str] = []
    for server in recursive:
        entry, response = rec.ask(zone, "NS", server, role="recursive", purpose="ns")
        if entry["error"] or entry["rcode"] != "NOERROR":
            problems.append(entry["error"] or f"{entry['server']} answered {entry['rcode']} for {zone} NS")
            continue
        names = [_fqdn(rr["value"]) for rr in entry["answer"] if rr["type"] == "NS"]
        if response is not None:
            for rrset in response.additional:
                if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                    glue.setdefault(rrset.name.to_text().lower(), []).extend(r.to_text() for r in rrset)
        if names:
            break
    if not names:
        why = "; ".join(dict.fromkeys(problems)) or "the NS answer was empty"
        return [], f"could not find the name servers of {zone}: {why}"
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

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="edgedoctor-ns") as pool:
        for name in names:
            for qtype in ("A", "AAAA"):
                pool.submit(lookup, name, qtype)
    servers: list[dict[str, Any]] = []
    for name in names:
        addrs = addresses[name] or glue.get(name, [])
        for addr in addrs:
            servers.append({"name": name, "address": addr, "port": 53})
    if not servers:
        return [], f"none of the name servers of {zone} ({', '.join(names)}) has an address"
    return servers, None
