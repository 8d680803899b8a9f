"""Sweep: every host of every context, diagnosed by the engine of `check`.

Per context the cluster is read once (live, snapshot or the recording) and indexed once;
each host gets a view of that index (edgedoctor.fleet.view). Live probes run for
`parallel` hosts at a time under one deadline for the whole sweep; a host that could not
start before it is reported with "deadline passed" probes, which the engine judges unknown.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from edgedoctor import __version__
from edgedoctor.collect import EvidenceOptions
from edgedoctor.diagnosis import engine
from edgedoctor.diagnosis.controllers import find_controllers
from edgedoctor.evidence import ClusterEvidence, Evidence
from edgedoctor.fleet.hosts import HostEntry, SelectorError, enumerate_hosts
from edgedoctor.fleet.source import Source, SweepError
from edgedoctor.fleet.view import FleetIndex
from edgedoctor.model import Diagnosis
from edgedoctor.timefmt import utc_now

DEFAULT_PARALLEL = 16
DEFAULT_TIMEOUT = 120.0
HOST_TIMEOUT = 20.0  # one host's probes never take longer than one `check` would
# critical first: a sweep with one critical host and one unknown host exits 2, the code a
# pager acts on; unknown is worse than warning (nothing is known about the host).
VERDICT_RANK = {"ok": 0, "warning": 1, "unknown": 2, "critical": 3}


@dataclass(kw_only=True)
class SweepOptions(EvidenceOptions):
    contexts: list[str] = field(default_factory=list)
    all_contexts: bool = False
    timeout: float = DEFAULT_TIMEOUT  # the whole sweep's deadline, not one host's
    parallel: int = DEFAULT_PARALLEL
    namespaces: list[str] = field(default_factory=list)
    selector: str | None = None
    globs: list[str] = field(default_factory=list)
    zone_transfer: bool = False  # AXFR each zone the hosts live in, for zone-wide drift
    # Where the TLS and HTTP probes connect (not flags: the benchmarks' servers listen elsewhere).
    https_port: int = 443
    http_port: int = 80


@dataclass
class HostResult:
    """One host's full result, as it comes out of the engine (handed to sinks, then dropped)."""

    context: str | None
    entry: HostEntry
    evidence: Evidence
    diagnosis: Diagnosis
    duration: float  # seconds: this host's probes and diagnosis

    @property
    def host(self) -> str:
        return self.entry.host

    @property
    def gateway(self) -> str | None:
        """The Gateway the engine chose for the host, else the one its routes name."""
        node = self.diagnosis.node("gateway")
        if node is not None and isinstance(node.details.get("gateway"), str):
            return node.details["gateway"]
        return self.entry.gateway


@dataclass
class HostRecord:
    """What a sweep keeps of a host once its result was written: enough for the table,
    the summary, the metrics and JUnit (10,000 full diagnoses would not fit in memory)."""

    context: str | None
    host: str
    gateway: str | None
    verdict: str
    category: str | None
    code: str | None
    title: str | None
    message: str | None
    unknown_reasons: list[str]
    findings: list[tuple[str, str, str]]  # (severity, code, message)
    now: str
    duration: float
    served_expiry: float | None  # epoch seconds
    certificate_expiry: float | None
    renewal: float | None
    dns_points: bool | None
    # The probes' evidence, kept only when the sweep is recorded.
    probes: dict[str, Any] | None = None

    @classmethod
    def of(cls, r: HostResult, keep_probes: bool = False) -> HostRecord:
        from edgedoctor.fleet import summary as s

        d = r.diagnosis
        rc = d.root_cause or {}
        served = s.served_expiry(r)
        cert = served or s.certificate_expiry(r)
        ren = s.certificate_renewal(r)
        return cls(
            context=r.context, host=r.host, gateway=r.gateway, verdict=d.verdict, category=d.category,
            code=rc.get("code"), title=rc.get("title"), message=rc.get("summary"),
            unknown_reasons=list(d.unknown_reasons),
            findings=[(f.severity, f.code, f.message) for f in d.findings],
            now=r.evidence.now, duration=r.duration,
            served_expiry=served.timestamp() if served else None,
            certificate_expiry=cert.timestamp() if cert else None,
            renewal=ren.timestamp() if ren else None,
            dns_points=s.dns_points_to_gateway(r),
            probes={"dns": r.evidence.dns, "tls": r.evidence.tls, "http": r.evidence.http} if keep_probes else None,
        )

    @property
    def days_left(self) -> float | None:
        from edgedoctor.timefmt import parse_rfc3339

        now = parse_rfc3339(self.now)
        if self.certificate_expiry is None or now is None:
            return None
        return (self.certificate_expiry - now.timestamp()) / 86400


@dataclass
class ContextResult:
    context: str | None
    source: dict[str, Any]
    now: str
    cluster: ClusterEvidence | None
    options: dict[str, Any] = field(default_factory=dict)
    unknown_reasons: list[str] = field(default_factory=list)
    finished: float = 0.0  # epoch seconds the context's sweep ended
    # With --zone-transfer: each zone's transfer (edgedoctor.probes.axfr) and its drift
    # (edgedoctor.fleet.drift); None when no transfer was asked for.
    zones: list[dict[str, Any]] | None = None
    drift: list[dict[str, Any]] | None = None


@dataclass
class SweepResult:
    contexts: list[ContextResult]
    hosts: list[HostRecord]
    generated_at: str

    @property
    def verdict(self) -> str:
        verdicts = [h.verdict for h in self.hosts]
        if any(c.unknown_reasons for c in self.contexts):
            verdicts.append("unknown")
        if any(z["orphans"] or z["unowned"] for c in self.contexts for z in c.drift or []):
            verdicts.append("warning")  # the zone drifted; every host may still work
        return max(verdicts, key=VERDICT_RANK.__getitem__) if verdicts else "ok"


HostCallback = Callable[[HostResult], None]


def _glob_ok(host: str, globs: list[str]) -> bool:
    import fnmatch

    return not globs or any(fnmatch.fnmatchcase(host, g.lower().rstrip(".")) for g in globs)


def narrowed_reads(opts: SweepOptions) -> dict[str, Any]:
    """What the live reader reads by name for a sweep: what any host may need, or with
    --namespace/--selector/host globs, only what the hosts they keep need (their Gateways'
    data plane, their routes' backends, their Secrets)."""
    from edgedoctor.kube.wanted import Hosts, needed_gateways, needed_secrets, needed_services

    if not (opts.namespaces or opts.selector or opts.globs):
        # Every Gateway's data plane at once (gateway_names None), every backend.
        return {"secret_names": lambda objects: needed_secrets(None, objects)}

    def hosts(objects: list[dict[str, Any]]) -> tuple[Hosts, list[HostEntry]]:
        entries = enumerate_hosts(objects, namespaces=opts.namespaces, selector=opts.selector, globs=opts.globs)
        return Hosts(e.host for e in entries), entries

    def gateways(objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
        # The Gateways the hosts' routes name (attached or not) and those with a listener for them.
        h, entries = hosts(objects)
        named = {tuple(g.split("/", 1)) for e in entries for g in e.gateways}
        return sorted({(ns, name) for ns, name in named} | set(needed_gateways(h, objects)))

    return {"secret_names": lambda objects: needed_secrets(hosts(objects)[0], objects),
            "service_names": lambda objects: needed_services(hosts(objects)[0], objects),
            "gateway_names": gateways}


# ------------------------------------------------------------------------- sources


def _now(opts: SweepOptions) -> str:
    from edgedoctor.collect import EvidenceError, parse_now

    try:
        return parse_now(opts.now) if opts.now else utc_now()
    except EvidenceError as e:
        raise SweepError(str(e)) from None


def _context_names(opts: SweepOptions) -> list[str | None]:
    if not opts.all_contexts:
        return list(opts.contexts) or [None]
    from edgedoctor.kube.config import LiveConfigError, kubeconfig_paths, merge_kubeconfigs

    try:
        merged = merge_kubeconfigs(kubeconfig_paths(opts.kubeconfig))
    except LiveConfigError as e:
        raise SweepError(str(e)) from None
    if not merged.contexts:
        raise SweepError("--all-contexts: the kubeconfig has no contexts")
    return sorted(merged.contexts)


def _live_source(opts: SweepOptions, context: str | None, now: str) -> Source:
    from edgedoctor.kube.live import LiveConfigError, read_live

    try:
        cluster = read_live(kubeconfig=opts.kubeconfig, context=context,
                            timeout=min(opts.timeout, 30.0), **narrowed_reads(opts))
    except LiveConfigError as e:
        return Source(context, {"kind": "live", "context": context}, None, now, [str(e)])
    source = {k: v for k, v in {"kind": "live", "context": cluster.context, "cluster": cluster.cluster}.items() if v is not None}
    reasons = []
    if not cluster.reachable:
        reasons = [next((str(e.get("reason")) for e in cluster.errors if e.get("kind") == "*"), "cluster unreachable")]
    return Source(cluster.context or context, source, cluster, now, reasons)


def _sources(opts: SweepOptions) -> list[Source]:
    if opts.replay:
        from edgedoctor.fleet.recording import load_sweep_recording

        return load_sweep_recording(opts.replay, now=opts.now)
    now = _now(opts)
    if opts.snapshots:
        from edgedoctor.snapshot import SnapshotError, load_snapshot

        try:
            cluster = load_snapshot(opts.snapshots)
        except SnapshotError as e:
            raise SweepError(str(e)) from None
        # A snapshot has no context of its own; --context names it in the output.
        label = opts.contexts[0] if opts.contexts else None
        return [Source(label, {"kind": "snapshot", "files": list(opts.snapshots)}, cluster, now)]
    return [_live_source(opts, c, now) for c in _context_names(opts)]


def validate(opts: SweepOptions) -> None:
    """Refuse bad input before any I/O (exit 3 with one line)."""
    if opts.replay and (opts.snapshots or opts.kubeconfig or opts.contexts or opts.all_contexts):
        raise SweepError("--replay takes all evidence from the recording; drop --snapshot/--kubeconfig/--context/--all-contexts")
    if opts.snapshots and opts.all_contexts:
        raise SweepError("--all-contexts reads the kubeconfig; it cannot be combined with --snapshot")
    if opts.snapshots and len(opts.contexts) > 1:
        raise SweepError("with --snapshot, --context only names the snapshot: give it once")
    if opts.timeout <= 0:
        raise SweepError("--timeout must be a positive number of seconds")
    if opts.zone_transfer and opts.offline:
        raise SweepError("--zone-transfer asks the zone's servers; it cannot be combined with --offline")
    if opts.parallel < 1:
        raise SweepError("--parallel must be at least 1")
    if opts.selector:
        from edgedoctor.fleet.hosts import parse_selector

        try:
            parse_selector(opts.selector)
        except SelectorError as e:
            raise SweepError(str(e)) from None
    if opts.now:
        _now(opts)


# ------------------------------------------------------------------------- probing


class _Prober:
    """Live probes of one sweep: at most `parallel` hosts at a time, one deadline."""

    def __init__(self, opts: SweepOptions, deadline: float) -> None:
        from edgedoctor.collect import (
            CheckOptions,
            EvidenceError,
            read_ca_bundle,
            validate_probe_args,
        )

        self.opts = opts
        self.deadline = deadline
        # What the hosts of one sweep share (made by `open`, per sweep): the zone's DNS
        # answers and the probes' threads.
        self.dns_cache: Any = None
        self.executor: Any = None
        self.check = CheckOptions(host="", nameservers=opts.nameservers, authoritative=opts.authoritative,
                                  resolve=opts.resolve, ca_bundle=opts.ca_bundle, timeout=HOST_TIMEOUT)
        try:
            self.args = validate_probe_args(self.check)
            self.ca_pem = read_ca_bundle(opts.ca_bundle)
        except EvidenceError as e:
            raise SweepError(str(e)) from None

    def open(self) -> None:
        from edgedoctor.probes.dns import ZoneCache
        from edgedoctor.probes.runner import shared_executor

        self.close()
        self.dns_cache = ZoneCache()
        self.executor = shared_executor(self.opts.parallel)

    def close(self) -> None:
        if self.executor is not None:
            # Probes still running past the deadline finish on their own, as a check's do.
            self.executor.shutdown(wait=False, cancel_futures=True)
        self.dns_cache = self.executor = None

    def options(self) -> dict[str, Any]:
        out: dict[str, Any] = {"offline": False, "nameservers": list(self.opts.nameservers),
                               "authoritative": list(self.opts.authoritative),
                               "resolve": list(self.opts.resolve), "timeout": self.opts.timeout}
        if self.ca_pem:
            out["ca_bundle_pem"] = self.ca_pem
        return out

    def probe(self, ev: Evidence, inputs: dict[str, Any]) -> None:
        """One pass: the cluster was read first, so the probes know at once what it tells
        (the Gateway's addresses, the TXT registry names, the ACME challenge names)."""
        import dataclasses

        from edgedoctor.collect import probe_plan, run_plan
        from edgedoctor.probes.dns import txt_registry_names

        left = self.deadline - time.monotonic()
        if left <= 0.05:
            ev.dns, ev.tls, ev.http = _deadline_probes(ev.host, inputs["gateway_addresses"])
            return
        edns = inputs.get("external_dns") or {}
        extra_txt = txt_registry_names(ev.host, prefix=edns.get("txt_prefix", ""), suffix=edns.get("txt_suffix", ""),
                                       wildcard_replacement=edns.get("wildcard_replacement", "")) if edns else []
        plan = probe_plan(dataclasses.replace(self.check, host=ev.host), self.args, min(left, HOST_TIMEOUT),
                          gateway_addresses=list(inputs["gateway_addresses"]), extra_txt=extra_txt,
                          acme_names=list(inputs["acme_names"]), https_port=self.opts.https_port,
                          http_port=self.opts.http_port, dns_cache=self.dns_cache,
                          executor=self.executor)
        ev.dns, ev.tls, ev.http = run_plan(plan)


def _deadline_probes(host: str, addresses: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The evidence of a host whose probes could not start before the sweep's deadline."""
    why = "deadline passed (the sweep's --timeout ran out before this host's turn)"
    dns = {"host": host, "zone": None, "zone_error": why, "soa": None, "authoritative_servers": [],
           "recursive_servers": [], "queries": [], "elapsed_ms": None}
    tls = [{"address": a, "port": 443, "sni": host, "proxy_protocol": False, "source": "gateway", "ok": False,
            "error": why, "error_kind": "deadline", "chain_pem": [], "chain_source": None, "protocol": None,
            "cipher": None, "elapsed_ms": None} for a in addresses]
    http = [{"url": f"{s}://{host}/", "address": None, "port": p, "scheme": s, "status": None, "location": None,
             "headers": {}, "body_sample": "", "error": why, "error_kind": "deadline", "elapsed_ms": None}
            for s, p in (("http", 80), ("https", 443))]
    return dns, tls, http


# ------------------------------------------------------------------------- the sweep


class SweepRun:
    """One sweep: the clusters are read when it is made; `results()` then diagnoses the
    hosts and yields them in the output's order (context, then host)."""

    def __init__(self, opts: SweepOptions) -> None:
        validate(opts)
        self.opts = opts
        self.started = time.monotonic()
        self.generated_at = utc_now()
        live = not opts.replay and not opts.offline
        # Probe flags are checked before any cluster is read.
        self.prober = _Prober(opts, self.started + opts.timeout) if live else None
        self.sources = sorted(_sources(opts), key=lambda s: s.context or "")
        self.contexts = []
        for src in self.sources:
            if src.recorded is not None:
                options = dict(src.options)
            else:
                options = self.prober.options() if self.prober else {"offline": True}
            self.contexts.append(ContextResult(src.context, src.source, src.now, src.cluster, options,
                                               list(src.unknown_reasons), zones=src.zones))

    def results(self, on_host: HostCallback | None = None, stop: threading.Event | None = None) -> Iterator[HostResult]:
        """`on_host` sees each result as soon as it is ready (from worker threads, any order);
        `stop` ends the probing early (the hosts left are reported as past the deadline)."""
        if self.prober is not None:
            self.prober.open()
        try:
            for src, ctx_result in zip(self.sources, self.contexts, strict=True):
                yield from self._context(src, ctx_result, on_host, stop)
                ctx_result.finished = time.time()
        finally:
            if self.prober is not None:
                self.prober.close()

    def _context(self, src: Source, ctx_result: ContextResult, on_host: HostCallback | None,
                 stop: threading.Event | None) -> Iterator[HostResult]:
        if src.cluster is None:
            return
        opts, prober, options = self.opts, self.prober, ctx_result.options
        index = FleetIndex(src.cluster)
        controllers = find_controllers(index)  # per cluster, not per host
        entries = enumerate_hosts(src.cluster.objects, namespaces=opts.namespaces,
                                  selector=opts.selector, globs=opts.globs)
        if src.recorded is not None:
            # A replay answers for the hosts that were recorded, and only those; a recorded
            # host no object names (a check of a host nothing serves) is one of them.
            named = {e.host for e in entries}
            entries = [e for e in entries if e.host in src.recorded]
            if not opts.namespaces and not opts.selector:
                entries += [HostEntry(h) for h in src.recorded if h not in named and _glob_ok(h, opts.globs)]
                entries.sort(key=lambda e: e.host)

        def one(entry: HostEntry) -> HostResult:
            started = time.monotonic()
            ev = Evidence(host=entry.host, now=src.now, source=dict(src.source), cluster=src.cluster,
                          options=dict(options), tool_version=__version__)
            view = index.view(entry.host)
            if src.recorded is not None:
                rec = src.recorded[entry.host]
                ev.dns, ev.tls, ev.http = rec.get("dns"), rec.get("tls"), rec.get("http")
            elif prober is not None:
                inputs = engine.probe_inputs(engine.analyze_cluster(ev, view, controllers))
                if stop is not None and stop.is_set():
                    ev.dns, ev.tls, ev.http = _deadline_probes(entry.host, inputs["gateway_addresses"])
                else:
                    prober.probe(ev, inputs)
            # Analysed again with the probes' answers: DNS takes part in choosing the Gateway.
            d = engine.finish(engine.analyze_cluster(ev, view, controllers))
            r = HostResult(src.context, entry, ev, d, time.monotonic() - started)
            if on_host is not None:
                on_host(r)
            return r

        seen_dns: list[dict[str, Any] | None] = []
        if prober is None:
            for r in map(one, entries):
                yield r
        else:
            with ThreadPoolExecutor(max_workers=opts.parallel, thread_name_prefix="edgedoctor-sweep") as pool:
                for r in pool.map(one, entries):
                    seen_dns.append({"zone": (r.evidence.dns or {}).get("zone"),
                                     "authoritative_servers": (r.evidence.dns or {}).get("authoritative_servers")})
                    yield r
        if prober is not None and opts.zone_transfer:
            ctx_result.zones = self._transfer(seen_dns)
        if ctx_result.zones is not None:
            from edgedoctor.fleet.drift import analyze_zone, registry_of

            reg = registry_of(controllers)
            ctx_result.drift = [analyze_zone(t, src.cluster.objects, reg) for t in ctx_result.zones]

    def _transfer(self, seen_dns: list[dict[str, Any] | None]) -> list[dict[str, Any]]:
        """AXFR of every zone the hosts live in, from its first authoritative server that allows it."""
        from edgedoctor.collect import CheckOptions, validate_probe_args
        from edgedoctor.fleet.drift import zones_to_transfer
        from edgedoctor.probes.axfr import transfer_zone

        given = validate_probe_args(CheckOptions(host="", authoritative=self.opts.authoritative))["authoritative"]
        out = []
        for zone, servers in sorted(zones_to_transfer(seen_dns).items()):
            result: dict[str, Any] | None = None
            for server in given or servers or []:
                left = self.started + self.opts.timeout - time.monotonic()
                if left <= 0.05:
                    break
                result = transfer_zone(zone, server, timeout=min(10.0, left))
                if result["ok"]:
                    break
            out.append(result or {"zone": zone, "server": None, "ok": False, "records": [], "error_kind": "error",
                                  "error": "no authoritative server to ask (or the sweep's deadline passed)"})
        return out

    def collect(self, sink: Callable[[HostResult], None] | None = None, *, keep_probes: bool = False,
                on_host: HostCallback | None = None, stop: threading.Event | None = None) -> SweepResult:
        """Run the sweep: each result goes to `sink` in order, then only its record is kept."""
        records = []
        for r in self.results(on_host, stop):
            if sink is not None:
                sink(r)
            records.append(HostRecord.of(r, keep_probes))
        return SweepResult(self.contexts, records, self.generated_at)


def run_sweep(opts: SweepOptions, **kw: Any) -> SweepResult:
    return SweepRun(opts).collect(**kw)
