"""Before and after: the manifests laid over the cluster as it is.

The base is a snapshot, a recording, or a live context. The objects in the manifests
replace the base's objects of the same kind, namespace and name; a replaced object whose
spec did not change keeps the status its controller wrote, a changed or new one gets the
predicted status, and routes attached to a changed Gateway are recomputed from their spec.
Everything else (Secrets, the Gateway's address, endpoints) stays as the cluster has it.
Both sides are diagnosed from the objects only, so what differs is what the change does.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgedoctor.diagnosis.controllers import find_controllers
from edgedoctor.diagnosis.index import ClusterIndex, as_dict, name_of, ns_of, spec
from edgedoctor.diagnosis.routes import ROUTE_KINDS, parent_refs
from edgedoctor.evidence import ClusterEvidence
from edgedoctor.lint import gitops
from edgedoctor.lint.load import Location, ManifestError, Manifests
from edgedoctor.lint.predict import predict_statuses
from edgedoctor.lint.run import (
    VERDICT_RANK,
    HostResult,
    World,
    hosts_of,
    lint_world,
    mistyped_error,
)


@dataclass
class Base:
    cluster: ClusterEvidence
    source: dict[str, Any]
    # The instant validity is judged at: a recording's own time, else now.
    now: str | None = None


def load_base(spec_: str | None, *, context: str | None = None, kubeconfig: str | None = None,
              timeout: float = 15.0, manifests: Manifests | None = None) -> Base:
    """A recording or a snapshot (file or directory), or the live cluster of `context`."""
    if context is not None:
        return _live(context, kubeconfig, timeout, manifests)
    assert spec_ is not None
    p = Path(spec_)
    if not p.exists():
        raise ManifestError(f"--base {spec_}: no such file or directory")
    if p.is_file():
        from edgedoctor.recording import RecordingError, load_recording

        try:
            ev, _doc = load_recording(p)
            return Base(ev.cluster, {"kind": "replay", "file": str(p), "host": ev.host}, ev.now)
        except RecordingError as rec_err:
            if str(p).endswith(".gz"):
                raise ManifestError(f"--base {rec_err}") from None
    from edgedoctor.snapshot import SnapshotError, load_snapshot

    try:
        return Base(load_snapshot([p]), {"kind": "snapshot", "file": str(p)})
    except SnapshotError as e:
        raise ManifestError(f"--base {e}") from None


def _live(context: str, kubeconfig: str | None, timeout: float, manifests: Manifests | None) -> Base:
    try:
        from edgedoctor.kube.live import LiveConfigError, read_live
        from edgedoctor.kube.wanted import needed_services, route_backends
    except ImportError as e:
        raise ManifestError(f"--context needs the kubernetes client ({e.name} not installed)") from None
    # The live reader reads Services by name: also those the changed routes will point at.
    wanted = {b for o in (manifests.objects if manifests else []) if o.get("kind") in ROUTE_KINDS
              for b in route_backends(o)}

    def services(objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return sorted(set(needed_services(None, objects)) | wanted)

    try:
        cluster = read_live(kubeconfig=kubeconfig, context=context, timeout=timeout, service_names=services)
    except LiveConfigError as e:
        raise ManifestError(str(e)) from None
    if not cluster.reachable:
        reason = next((e.get("reason") for e in cluster.errors if e.get("kind") == "*"), "cluster unreachable")
        raise ManifestError(f"--context {context}: {reason}")
    return Base(cluster, {"kind": "live", "context": cluster.context})


def _key(o: dict[str, Any]) -> tuple[str, str, str]:
    return (str(o.get("kind")), ns_of(o), name_of(o))


def overlay(base: ClusterEvidence, m: Manifests) -> tuple[list[dict[str, Any]], dict[int, Location], list[str]]:
    """The cluster after the change, with statuses recomputed where the change reaches."""
    mine: list[dict[str, Any]] = []
    where: dict[int, Location] = {}
    for o in m.objects:
        c = copy.deepcopy(o)
        mine.append(c)
        where[id(c)] = m.where[id(o)]
        for s in gitops.synthesize(o):
            mine.append(s)
            where[id(s)] = m.where[id(o)]
    replaced = {_key(o) for o in mine}
    # A rendered controller replaces the cluster's controller of the same role in its namespace.
    roles = {(c.role, c.namespace) for cs in find_controllers(ClusterIndex(ClusterEvidence(objects=mine))).values() for c in cs}
    base_ctrl = {id(c.deployment) for cs in find_controllers(ClusterIndex(base)).values() for c in cs
                 if (c.role, c.namespace) in roles}
    old = {_key(o): o for o in base.objects}
    kept = [o for o in base.objects if _key(o) not in replaced and id(o) not in base_ctrl]
    changed_gateways = set()
    keep_status: set[int] = set(id(o) for o in kept)
    for o in mine:
        prev = old.get(_key(o))
        if prev is not None and prev.get("spec") == o.get("spec") and prev.get("status") is not None:
            o["status"] = copy.deepcopy(prev["status"])
            keep_status.add(id(o))
        elif o.get("kind") == "Gateway":
            changed_gateways.add((ns_of(o), name_of(o)))
    addresses = {(ns_of(o), name_of(o)): as_dict(o.get("status")).get("addresses") or []
                 for o in base.objects if o.get("kind") == "Gateway"}

    def rejudged(r: dict[str, Any]) -> dict[str, Any]:
        # Routes of a changed Gateway are judged again from their spec.
        if r.get("kind") in ROUTE_KINDS and any(
            (str(p.get("namespace") or ns_of(r)), str(p.get("name"))) in changed_gateways for p in parent_refs(r)
        ):
            keep_status.discard(id(r))
            return {k: v for k, v in r.items() if k != "status"}
        return r

    objects = [rejudged(o) for o in kept] + mine
    predict_statuses(objects, keep=keep_status, addresses={k: v for k, v in addresses.items() if v})
    # A Certificate new in the change will write its Secret; the listener waits for it
    # (a Secret without a certificate yet, not a missing one).
    have = {(ns_of(o), name_of(o)) for o in objects if o.get("kind") == "Secret"}
    for c in [o for o in mine if o.get("kind") == "Certificate"]:
        key = (ns_of(c), str(spec(c).get("secretName") or ""))
        if key[1] and key not in have:
            objects.append({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                            "metadata": {"name": key[1], "namespace": key[0]}, "keys": ["tls.crt", "tls.key"]})
            have.add(key)
    # A Service new in the change gets its Pods when its workload rolls out: endpoints are
    # the running cluster's business, not the manifests'.
    served = {(ns_of(o), str(as_dict(as_dict(o.get("metadata")).get("labels")).get("kubernetes.io/service-name")))
              for o in objects if o.get("kind") == "EndpointSlice"}
    for svc in [o for o in mine if o.get("kind") == "Service"]:
        if (ns_of(svc), name_of(svc)) not in served and spec(svc).get("selector"):
            objects.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                            "metadata": {"name": f"{name_of(svc)}-predicted", "namespace": ns_of(svc),
                                         "labels": {"kubernetes.io/service-name": name_of(svc)}},
                            "endpoints": [{"conditions": {"ready": True}}]})
    kinds = set(base.kinds_read) | {str(o.get("kind")) for o in mine}
    if "Gateway" in kinds:
        kinds.update(("ReferenceGrant", "ClientTrafficPolicy"))
    return objects, where, sorted(kinds)


def compare(base: Base, m: Manifests) -> tuple[list[HostResult], int]:
    """Per host: before and after; the exit status from the worst new problem."""
    before_w = World(list(base.cluster.objects), {}, list(base.cluster.kinds_read))
    objects, where, kinds = overlay(base.cluster, m)
    after_w = World(objects, where, kinds)
    mistyped_error(after_w)
    if base.now:
        before_w.now = after_w.now = base.now
    before_hosts = set(hosts_of(base.cluster.objects))
    touched = set(hosts_of(list(m.objects)))
    hosts = sorted(before_hosts | set(hosts_of(objects)))
    before = {r.host: r for r in lint_world(before_w, [h for h in hosts if h in before_hosts])}
    after = {r.host: r for r in lint_world(after_w, hosts)}
    out = []
    worst = 0
    for h in hosts:
        a = after[h]
        b = before.get(h)
        old = {(f.code, f.severity) for f in b.findings} if b else set()
        new = [f for f in a.findings if (f.code, f.severity) not in old]
        same = b is not None and b.verdict == a.verdict and b.root_code == a.root_code and not new
        if same and h not in touched:
            continue
        for f in new:
            worst = max(worst, VERDICT_RANK.get(f.severity, 0))
        a.has_before = True
        a.before = {"verdict": b.verdict, "code": b.root_code} if b else None
        out.append(a)
    return out, worst


__all__ = ["Base", "load_base", "overlay", "compare"]
