"""Gather the evidence of one check: cluster (live, snapshot or replay) and probes.

This is the I/O side; the diagnosis never calls it. Heavy modules (the
kubernetes client, dnspython) are imported only on the paths that use them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from edgedoctor import __version__
from edgedoctor.evidence import ClusterEvidence, Evidence
from edgedoctor.timefmt import format_utc, parse_rfc3339, utc_now


class EvidenceError(Exception):
    """Evidence could not be gathered at all; the message is one line for the user."""


@dataclass(kw_only=True)
class EvidenceOptions:
    """Where the evidence comes from: the options `check` and `sweep` share (declared once,
    as app.args.evidence_fields maps their flags once)."""

    kubeconfig: str | None = None
    snapshots: list[str] = field(default_factory=list)
    replay: str | None = None
    nameservers: list[str] = field(default_factory=list)
    authoritative: list[str] = field(default_factory=list)
    resolve: list[str] = field(default_factory=list)
    ca_bundle: str | None = None
    offline: bool = False
    now: str | None = None
    timeout: float = 20.0


@dataclass(kw_only=True)
class CheckOptions(EvidenceOptions):
    host: str
    context: str | None = None


def parse_now(text: str) -> str:
    """Validate --now (RFC 3339) and return it normalised to UTC."""
    dt = parse_rfc3339(text, assume_utc=False)
    if dt is None:
        if parse_rfc3339(text) is not None:
            raise EvidenceError(f"--now {text!r} has no time zone; add Z or an offset")
        raise EvidenceError(f"--now {text!r} is not an RFC 3339 time such as 2026-12-02T03:00:00Z")
    return format_utc(dt)


def validate_probe_args(opts: CheckOptions) -> dict[str, Any]:
    """Parse --nameserver/--authoritative/--resolve early: bad input is exit 3, not a probe error."""
    from edgedoctor.probes.runner import parse_resolve, parse_server

    out: dict[str, Any] = {"nameservers": [], "authoritative": [], "resolve": {}}
    try:
        out["nameservers"] = [parse_server(s) for s in opts.nameservers]
        out["authoritative"] = [parse_server(s) for s in opts.authoritative]
        for spec in opts.resolve:
            h, port, addr = parse_resolve(spec)
            out["resolve"][(h, port)] = addr
    except ValueError as e:
        raise EvidenceError(str(e)) from None
    return out


def read_cluster(opts: CheckOptions) -> tuple[ClusterEvidence, dict[str, Any]]:
    if opts.snapshots:
        from edgedoctor.snapshot import SnapshotError, load_snapshot

        try:
            cluster = load_snapshot(opts.snapshots)
        except SnapshotError as e:
            raise EvidenceError(str(e)) from None
        return cluster, {"kind": "snapshot", "context": None, "files": list(opts.snapshots)}
    from edgedoctor.kube.config import NoKubeconfig
    from edgedoctor.kube.live import LiveConfigError, read_live
    from edgedoctor.kube.wanted import needed_gateways, needed_secrets, needed_services

    try:
        cluster = read_live(
            kubeconfig=opts.kubeconfig,
            context=opts.context,
            # Most of the deadline, with room left for the probes that need the objects; a
            # larger --timeout gives a large cluster's LISTs the time they take.
            timeout=min(opts.timeout, max(15.0, opts.timeout * 0.75)),
            secret_names=lambda objects: needed_secrets(opts.host, objects),
            service_names=lambda objects: needed_services(opts.host, objects),
            gateway_names=lambda objects: needed_gateways(opts.host, objects),
        )
    except NoKubeconfig as e:
        # DNS, the served certificate and the redirect need no cluster: they still run, and
        # the cluster's nodes are unknown with what a kubeconfig would add.
        what = ("the Gateway, listener, routes and cert-manager chain were not read; "
                "--kubeconfig/--context or --snapshot adds them")
        if opts.offline:
            what += "; with --offline nothing else is checked (drop it to probe DNS, TLS and HTTP)"
        cluster = ClusterEvidence(reachable=False, errors=[{"kind": "*", "status": "unknown",
                                                            "reason": f"{e}: {what}"}])
        return cluster, {"kind": "live", "context": None}
    except LiveConfigError as e:
        raise EvidenceError(str(e)) from None
    return cluster, {"kind": "live", "context": cluster.context, "cluster": cluster.cluster}


def load_replay(path: str, host: str, now: str | None = None) -> Evidence:
    """A recording's evidence (cluster and probes) for `host`; `now` (--now) overrides
    the recorded time."""
    from edgedoctor.recording import RecordingError, load_recording

    try:
        ev, _doc = load_recording(path)
    except RecordingError as e:
        raise EvidenceError(str(e)) from None
    if ev.host != host:
        raise EvidenceError(f"{path} is a recording of {ev.host}, not {host}")
    if now:
        ev.now = parse_now(now)
    return as_replay(ev)


def as_replay(ev: Evidence) -> Evidence:
    """Say what was seen: a replay, with the source the recording was made from inside
    (`source.recorded`); the context stays at the top for the front ends."""
    if ev.source.get("kind") == "replay" and "recorded" in ev.source:
        return ev
    recorded = dict(ev.source)
    ev.source = {"kind": "replay", "recorded": recorded}
    if recorded.get("context") is not None:
        ev.source["context"] = recorded["context"]
    return ev


def read_ca_bundle(path: str | None) -> str | None:
    """The PEM text of --ca-bundle (None without one); raises EvidenceError."""
    if not path:
        return None
    try:
        with open(path, encoding="ascii") as f:
            ca_pem = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise EvidenceError(f"--ca-bundle {path}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    if "BEGIN CERTIFICATE" not in ca_pem:
        raise EvidenceError(f"--ca-bundle {path}: holds no PEM certificate")
    return ca_pem


def cluster_evidence(opts: CheckOptions, now: str, ca_pem: str | None) -> Evidence:
    """The evidence with the cluster read and no probe results yet."""
    cluster, source = read_cluster(opts)
    ev = Evidence(
        host=opts.host,
        now=now,
        source={k: v for k, v in source.items() if v is not None},
        cluster=cluster,
        options={"offline": opts.offline},
        tool_version=__version__,
    )
    if ca_pem:
        ev.options["ca_bundle_pem"] = ca_pem
    return ev


def gather(opts: CheckOptions) -> Evidence:
    """All the evidence of one check (a recording, or the cluster read plus the probes)."""
    if opts.replay:
        return load_replay(opts.replay, opts.host, opts.now)
    now = parse_now(opts.now) if opts.now else utc_now()
    probe_args = None if opts.offline else validate_probe_args(opts)
    ca_pem = read_ca_bundle(opts.ca_bundle)
    if probe_args is None:
        return cluster_evidence(opts, now, ca_pem)
    # The host's own DNS, TLS and HTTP probes need nothing from the cluster: run them
    # while the cluster is read, then ask what only the objects can tell.
    from edgedoctor.diagnosis.engine import analyze_cluster, probe_inputs

    with EarlyProbes(opts, probe_args) as early:
        ev = cluster_evidence(opts, now, ca_pem)
        results = early.result()
    # The probes' plan comes from the analysis of the cluster-only evidence. The caller's
    # diagnosis analyses the cluster again because the probed evidence is other evidence:
    # the cluster layers read its DNS answers (`Ctx.probed_dns`).
    complete_probes(ev, opts, probe_args, results, early.seconds_left(), probe_inputs(analyze_cluster(ev)))
    return ev


ProbeResults = tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]


class EarlyProbes:
    """The host's own probes (they need nothing from the cluster), running in a thread
    from construction on, while the cluster is read.

    As a context manager it waits for them on a normal exit only: after an error the
    caller does not wait (the running probes end at their own deadline).
    """

    def __init__(self, opts: CheckOptions, probe_args: dict[str, Any]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.timeout = opts.timeout
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edgedoctor-early")
        self._future = self._pool.submit(run_plan, probe_plan(opts, probe_args, opts.timeout))
        self.started = time.monotonic()

    def result(self) -> ProbeResults:
        try:
            return self._future.result()
        finally:
            self._pool.shutdown(wait=False)

    def seconds_left(self) -> float:
        """What remains of the check's deadline for the probes that need the cluster."""
        return max(1.0, self.timeout - (time.monotonic() - self.started))

    def cancel(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> EarlyProbes:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=exc[0] is None)


def run_plan(plan: Any) -> ProbeResults:
    from edgedoctor.probes.runner import run_probes

    return run_probes(plan)


def probe_plan(opts: CheckOptions, args: dict[str, Any], timeout: float, **extra: Any) -> Any:
    """The ProbePlan of this check; `extra` adds what the cluster told (addresses, names)."""
    from edgedoctor.probes.runner import ProbePlan

    fields: dict[str, Any] = {
        "host": opts.host,
        "nameservers": args["nameservers"] or None,
        "authoritative": args["authoritative"] or None,
        "resolve": args["resolve"],
        "ca_bundle": opts.ca_bundle,
        "timeout": timeout,
        "probe_timeout": min(3.0, max(0.5, opts.timeout / 4)),
        # One more handshake per address with a PROXY header: the only way to see an
        # Envoy that expects PROXY protocol when nothing in the objects says so.
        "proxy_protocol_check": True,
    }
    fields.update(extra)
    return ProbePlan(**fields)


def complete_probes(ev: Evidence, opts: CheckOptions, args: dict[str, Any], early: ProbeResults,
                    left: float, inputs: dict[str, Any]) -> None:
    """Put the probe results into `ev`, first asking what only the cluster could tell:
    the Gateway's addresses, the external-dns TXT registry names, the ACME challenge names.

    `inputs` is `engine.probe_inputs` of the cluster analysis of `ev` before the probes.
    """
    from edgedoctor.probes.dns import txt_registry_names

    dns, tls, http = early
    extra_txt: list[str] = []
    edns = inputs.get("external_dns")
    if edns:
        extra_txt = txt_registry_names(
            ev.host,
            prefix=edns.get("txt_prefix", ""),
            suffix=edns.get("txt_suffix", ""),
            wildcard_replacement=edns.get("wildcard_replacement", ""),
        )
    probed = {(t.get("address"), t.get("port"), bool(t.get("proxy_protocol"))) for t in tls}
    new_gw = [a for a in inputs["gateway_addresses"] if (a, 443, False) not in probed]
    if extra_txt or inputs["acme_names"] or new_gw:
        auth = [(str(s["address"]), int(s.get("port") or 53)) for s in (dns.get("authoritative_servers") or [])
                if isinstance(s, dict) and s.get("address")]
        plan = probe_plan(opts, args, left, gateway_addresses=new_gw, extra_txt=extra_txt,
                          acme_names=inputs["acme_names"],
                          authoritative=auth or args["authoritative"] or None)
        dns2, tls2, http2 = run_plan(plan)
        keep = {"txt-registry", "acme-challenge"}
        dns = {**dns, "queries": list(dns.get("queries") or [])
               + [q for q in dns2.get("queries") or [] if q.get("purpose") in keep]}
        tls = tls + [t for t in tls2 if (t.get("address"), t.get("port"), bool(t.get("proxy_protocol"))) not in probed]
        if not any(h.get("status") for h in http) and any(h.get("status") for h in http2):
            http = http2
    ev.dns, ev.tls, ev.http = dns, tls, http
    ev.options.update(
        {
            "nameservers": list(opts.nameservers),
            "authoritative": list(opts.authoritative),
            "resolve": list(opts.resolve),
            "timeout": opts.timeout,
        }
    )
