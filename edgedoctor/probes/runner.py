"""Run the DNS, TLS and HTTP probes of one check concurrently, within one deadline.

Order of work: the resolvers' and the authoritative servers' address answers are reported as
they arrive, and each new address starts its TLS probe at once (the Gateway addresses start
at time zero), so the wall time stays close to the slowest single probe rather than the sum.
The HTTP probes go to the first address that accepts a connection, in this order: `--resolve`
for that port, the Gateway addresses, the addresses DNS gives.

Every probe has its own timeout (`probe_timeout`, cut to what is left of the deadline); a
probe still running at the deadline is reported as an error entry "deadline passed".
"""

from __future__ import annotations

import ipaddress
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from edgedoctor.probes.dns import probe_dns
from edgedoctor.probes.http import failed_like, get_on, probe_http
from edgedoctor.probes.tls import probe_tls, verify_served

_GRACE = 0.3  # seconds a probe may overrun the deadline while closing its sockets


@dataclass
class ProbePlan:
    host: str
    nameservers: list[tuple[str, int]] | None = None
    authoritative: list[tuple[str, int]] | None = None
    # (host, port) -> address, from --resolve HOST:PORT:ADDR
    resolve: dict[tuple[str, int], str] = field(default_factory=dict)
    gateway_addresses: list[str] = field(default_factory=list)
    extra_txt: list[str] = field(default_factory=list)
    acme_names: list[str] = field(default_factory=list)
    ca_bundle: str | None = None
    timeout: float = 10.0  # the whole check's deadline
    probe_timeout: float = 3.0  # each probe (and each DNS question)
    proxy_protocol_check: bool = False
    https_port: int = 443
    http_port: int = 80
    max_addresses: int = 8  # TLS probes to DNS-resolved addresses
    # Shared by the hosts of one sweep (None for a check): the zone's DNS answers
    # (probes.dns.ZoneCache) and the threads the probes run in (a ThreadPoolExecutor, see
    # `shared_executor`).
    dns_cache: Any = None
    executor: Any = None


def shared_executor(parallel: int) -> ThreadPoolExecutor:
    """The threads of a sweep's probes, kept from one host to the next (starting a dozen
    threads per host was a tenth of the sweep's CPU).

    Sized so that no host waits for a thread more than with a pool of its own. It cannot
    deadlock: the only probe jobs that wait for others are a host's DNS job and its two
    HTTP jobs, at most 3 x parallel threads, and every other job waits for nothing.
    """
    return ThreadPoolExecutor(max_workers=64 * max(1, parallel), thread_name_prefix="edgedoctor-probe")


def parse_server(spec: str, default_port: int = 53) -> tuple[str, int]:
    """`1.2.3.4`, `1.2.3.4:5353`, `[::1]:53`, `::1` -> (address, port)."""
    text = (spec or "").strip()
    if not text:
        raise ValueError("empty server address")
    address, port_text = text, None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"{spec!r}: missing ']' after the IPv6 address")
        address, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{spec!r}: expected ':PORT' after ']'")
            port_text = rest[1:]
    elif text.count(":") == 1:
        address, port_text = text.split(":", 1)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"{spec!r}: {address!r} is not an IP address") from None
    if text.startswith("[") and ip.version != 6:
        raise ValueError(f"{spec!r}: brackets are for IPv6 addresses")
    port = default_port
    if port_text is not None:
        port = _port(port_text, spec)
    return str(ip), port


def _port(text: str, spec: str) -> int:
    if not text.isdigit():
        raise ValueError(f"{spec!r}: port {text!r} is not a number")
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError(f"{spec!r}: port {port} is outside 1-65535")
    return port


def parse_resolve(spec: str) -> tuple[str, int, str]:
    """`HOST:PORT:ADDR` as curl's --resolve (ADDR may be `[::1]` or `::1`)."""
    text = (spec or "").strip()
    parts = text.split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"{spec!r}: expected HOST:PORT:ADDRESS, e.g. app.example.com:443:192.0.2.10")
    host, port_text, address = parts
    host = host.strip().lower().rstrip(".")
    if not host or any(c in host for c in "/[] "):
        raise ValueError(f"{spec!r}: {host!r} is not a hostname")
    port = _port(port_text, spec)
    addr = address[1:-1] if address.startswith("[") and address.endswith("]") else address
    if "," in addr:
        raise ValueError(f"{spec!r}: give one address per --resolve")
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        raise ValueError(f"{spec!r}: {address!r} is not an IP address") from None
    return host, port, str(ip)


def _deadline_tls(host: str, address: str, port: int, proxy: bool, source: str) -> dict[str, Any]:
    return {
        "address": address, "port": port, "sni": host, "proxy_protocol": proxy, "source": source,
        "ok": False, "error": "deadline passed", "error_kind": "deadline", "chain_pem": [],
        "chain_source": None, "protocol": None, "cipher": None, "elapsed_ms": None,
    }


def _deadline_http(host: str, address: str | None, scheme: str, port: int) -> dict[str, Any]:
    return {
        "url": f"{scheme}://{host}/", "address": address, "port": port, "scheme": scheme,
        "status": None, "location": None, "headers": {}, "body_sample": "",
        "error": "deadline passed", "error_kind": "deadline", "elapsed_ms": None,
    }


class _Run:
    def __init__(self, plan: ProbePlan) -> None:
        self.plan = plan
        self.host = plan.host.strip().lower().rstrip(".")
        self.start = time.monotonic()
        self.deadline = self.start + plan.timeout
        self.own_pool = plan.executor is None
        self.pool = plan.executor or ThreadPoolExecutor(max_workers=32, thread_name_prefix="edgedoctor-probe")
        self.futures: list[Future[Any]] = []  # to cancel what has not started when the run ends
        self.lock = threading.Condition()
        self.dns_addresses: list[str] = []
        self.dns_done = False
        self.tls_jobs: list[tuple[dict[str, Any], Future[dict[str, Any]]]] = []
        self.tls_seen: set[str] = set()
        self.dns_tls_count = 0
        # The https GET rides on the TLS probe of the address it would go to first (see
        # `_next_candidate`): one handshake serves both. The DNS case is set by the first
        # address DNS gives.
        override = plan.resolve.get((self.host, plan.https_port))
        self.get_at: str | None = override or next(iter(plan.gateway_addresses), None)
        self.get_job: Future[dict[str, Any]] | None = None
        self.got: dict[str, Any] | None = None
        self.ca_bundle_pem: str | None = None
        if plan.ca_bundle:
            try:
                with open(plan.ca_bundle, encoding="ascii", errors="replace") as f:
                    self.ca_bundle_pem = f.read()
            except OSError:
                self.ca_bundle_pem = None

    def submit(self, fn: Any, *args: Any) -> Future[Any]:
        fut = self.pool.submit(fn, *args)
        self.futures.append(fut)
        return fut

    def close(self) -> None:
        if self.own_pool:
            self.pool.shutdown(wait=False, cancel_futures=True)
        else:
            for fut in list(self.futures):
                fut.cancel()

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def budget(self) -> float:
        return max(0.05, min(self.plan.probe_timeout, self.left()))

    # TLS ---------------------------------------------------------------
    def add_tls(self, address: str, source: str) -> None:
        port = self.plan.https_port
        with self.lock:
            if address in self.tls_seen:
                return
            if source == "dns":
                if self.dns_tls_count >= self.plan.max_addresses:
                    return
                self.dns_tls_count += 1
            self.tls_seen.add(address)
            if self.get_at is None and source == "dns":
                self.get_at = address
            variants = [False, True] if self.plan.proxy_protocol_check else [False]
            for proxy in variants:
                meta = {"address": address, "port": port, "proxy": proxy, "source": source}
                get = not proxy and address == self.get_at and self.get_job is None
                fut = self.submit(self._tls_job, address, port, proxy, source, get)
                self.tls_jobs.append((meta, fut))
                if get:
                    self.get_job = fut
                    self.lock.notify_all()

    def _tls_job(self, address: str, port: int, proxy: bool, source: str, get: bool = False) -> dict[str, Any]:
        if self.left() <= 0:
            return _deadline_tls(self.host, address, port, proxy, source)

        def https_get(tls: Any, started: float) -> None:
            self.got = get_on(tls, self.host, address, port, timeout=self.budget(), started=started)

        result = probe_tls(self.host, address, port, timeout=self.budget(), proxy_protocol=proxy,
                           on_connection=https_get if get else None)
        result["source"] = source
        if result["ok"] and result["chain_pem"]:
            try:
                result["verification"] = verify_served(
                    result["chain_pem"], self.host, ca_bundle_pem=self.ca_bundle_pem
                )
            except Exception as e:  # verification must never lose the handshake record
                result["verification"] = {"verified": False, "error": f"verification failed to run: {e}"}
        return result

    # DNS ---------------------------------------------------------------
    def on_addresses(self, addresses: list[str]) -> None:
        # The TLS probes first: an https request that wakes up on the new addresses finds the
        # probe its GET rides on already there.
        if (self.host, self.plan.https_port) not in self.plan.resolve:
            for a in addresses:
                self.add_tls(a, "dns")
        with self.lock:
            for a in addresses:
                if a not in self.dns_addresses:
                    self.dns_addresses.append(a)
            self.lock.notify_all()

    def dns_job(self) -> dict[str, Any]:
        try:
            return probe_dns(
                self.host,
                nameservers=self.plan.nameservers,
                authoritative=self.plan.authoritative,
                extra_txt=self.plan.extra_txt,
                acme_names=self.plan.acme_names,
                timeout=self.plan.probe_timeout,
                deadline=self.deadline,
                on_addresses=self.on_addresses,
                cache=self.plan.dns_cache,
                executor=self.plan.executor,
            )
        finally:
            with self.lock:
                self.dns_done = True
                self.lock.notify_all()

    # HTTP --------------------------------------------------------------
    def _next_candidate(self, port: int, tried: list[str]) -> tuple[str, str] | str | None:
        """The next address to try, "deadline" if time ran out, None when none is left.

        Order: --resolve for the port; the Gateway's addresses (the redirect is the Gateway's
        behaviour, and they are known at time zero); the addresses DNS gives, waited for
        until DNS is done.
        """
        override = self.plan.resolve.get((self.host, port))
        if override is not None:
            return (override, "resolve") if override not in tried else None
        for a in self.plan.gateway_addresses:
            if a not in tried:
                return a, "gateway"
        with self.lock:
            while True:
                for a in self.dns_addresses:
                    if a not in tried:
                        return a, "dns"
                if self.dns_done:
                    return None
                if self.left() <= 0:
                    return "deadline"
                self.lock.wait(timeout=max(0.01, min(self.left(), 0.5)))

    def http_job(self, scheme: str, port: int) -> list[dict[str, Any]]:
        tried: list[str] = []
        results: list[dict[str, Any]] = []
        while True:
            cand = self._next_candidate(port, tried)
            if cand is None:
                break
            if cand == "deadline":
                results.append(_deadline_http(self.host, None, scheme, port))
                break
            address, source = cand
            tried.append(address)
            if self.left() <= 0:
                results.append(_deadline_http(self.host, address, scheme, port))
                break
            # The chain is verified once, on the TLS probe's record; no second handshake here.
            r = self._got_with_tls(address) if scheme == "https" else None
            if r is None:
                r = probe_http(self.host, address, scheme=scheme, port=port, timeout=self.budget(),
                               ca_bundle=self.plan.ca_bundle, verify=False)
            r["source"] = source
            results.append(r)
            # Another address only helps when this one did not take the connection.
            if r["status"] is not None or r["error_kind"] not in ("refused", "timeout", "unreachable"):
                break
        if not results:
            r = _deadline_http(self.host, None, scheme, port)
            r["error"] = "no address to send the request to (DNS gave none and no Gateway address is known)"
            r["error_kind"] = "no-address"
            results.append(r)
        return results


    def _got_with_tls(self, address: str) -> dict[str, Any] | None:
        """The GET the TLS probe of `address` made on its connection, or that probe's failure
        to connect; None when no TLS probe was asked to make it, or it crashed (the request
        is then made on its own)."""
        with self.lock:
            job = self.get_job if address == self.get_at else None
        if job is None:
            return None
        try:
            tls = job.result(timeout=max(0.0, self.left()) + _GRACE)
        except Exception:  # still running at the deadline, or a bug
            return None
        if self.got is not None:
            return self.got
        if not tls.get("ok") and tls.get("error_kind"):
            return failed_like(tls, self.host, address, self.plan.https_port)
        return None


def run_probes(plan: ProbePlan) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """(dns, tls, http) evidence for plan.host; never raises for network failures."""
    run = _Run(plan)
    try:
        override = plan.resolve.get((run.host, plan.https_port))
        if override is not None:
            run.add_tls(override, "resolve")
        for a in plan.gateway_addresses:
            run.add_tls(a, "gateway")
        dns_future = run.submit(run.dns_job)
        http_futures = [
            ("http", plan.http_port, run.submit(run.http_job, "http", plan.http_port)),
            ("https", plan.https_port, run.submit(run.http_job, "https", plan.https_port)),
        ]
        dns_result = _result(dns_future, run, None)
        if not isinstance(dns_result, dict):
            dns_result = {
                "host": run.host, "zone": None,
                "zone_error": str(dns_result) if dns_result else "deadline passed",
                "soa": None, "authoritative_servers": [], "recursive_servers": [],
                "queries": [], "elapsed_ms": None,
            }
        http: list[dict[str, Any]] = []
        for scheme, port, fut in http_futures:
            got = _result(fut, run, None)
            if isinstance(got, list):
                http.extend(got)
            else:
                entry = _deadline_http(run.host, None, scheme, port)
                if got:
                    entry["error"], entry["error_kind"] = str(got), "error"
                http.append(entry)
        with run.lock:
            jobs = list(run.tls_jobs)
        tls: list[dict[str, Any]] = []
        for meta, fut in jobs:
            got = _result(fut, run, None)
            if not isinstance(got, dict):
                entry = _deadline_tls(run.host, meta["address"], meta["port"], meta["proxy"], meta["source"])
                if got:
                    entry["error"], entry["error_kind"] = str(got), "error"
                got = entry
            tls.append(got)
        return dns_result, tls, http
    finally:
        run.close()


def _result(fut: Future[Any], run: _Run, default: Any) -> Any:
    """The probe's result; `default` if it is still running at the deadline.

    A probe that crashed (a bug, not a network failure) comes back as a marker dict so the
    caller can still fill its slot with a visible error entry.
    """
    try:
        return fut.result(timeout=max(0.0, run.left()) + _GRACE)
    except FutureTimeout:
        return default
    except Exception as e:
        return _Crashed(f"probe crashed: {type(e).__name__}: {e}")


class _Crashed(str):
    pass


__all__ = ["ProbePlan", "run_probes", "parse_resolve", "parse_server", "shared_executor"]
