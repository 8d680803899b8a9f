"""Read the cluster evidence from a live API server, reading only what the chain names.

The kinds a host's chain can start from (Gateway API, Envoy Gateway and cert-manager
objects, Namespaces) are LISTed across all namespaces, concurrently: which Gateway, route
or Certificate serves a host can only be found by looking at all of them. The rest is read
where the chain points (`edgedoctor.kube.wanted` says what):

- Deployments and Services by label selector: the Envoy data plane (Envoy Gateway's owner
  labels) and the controllers (their charts' name labels); a controller role the objects
  need but no label found is looked for once across all Deployments (hand-made installs);
- Services by name: the backends of the routes that may serve the host, and a Service
  named as its Gateway (Envoy Gateway's GatewayNamespace mode); their EndpointSlices by
  the `kubernetes.io/service-name` label, in the Service's namespace;
- Secrets by name: only the ones the edge points at, each reduced by `edgedoctor.redact`
  the moment it arrives (no key or token is kept);
- ConfigMaps by name: the Corefile a k8s_gateway/CoreDNS Deployment mounts.

A kind that cannot be read becomes an entry of ClusterEvidence.errors and the rest
goes on; a server that cannot be reached at all is reported once, quickly.
Objects are plain dicts as `kubectl get -o json` shows them.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

from edgedoctor.evidence import ClusterEvidence
from edgedoctor.kinds import BY_KIND, KINDS
from edgedoctor.kube import report, wanted
from edgedoctor.kube.config import LiveConfigError, Target, load_api_client
from edgedoctor.kube.failures import ApiFailure
from edgedoctor.kube.reads import Requests

__all__ = ["LiveConfigError", "read_live", "NARROW"]

Chooser = Callable[[list[dict[str, Any]]], Iterable[tuple[str, str]]]
Results = dict[Any, Any]  # request key -> list of objects, one object (or None), or ApiFailure

WORKERS = 8
# Kinds read where the chain points (selectors, names), not listed cluster-wide.
NARROW = ("Secret", "ConfigMap", "Service", "EndpointSlice", "Deployment")
NARROW_ORDER = ("Deployment", "Service", "EndpointSlice", "Secret", "ConfigMap")


def _key(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def merge_selected(results: Results, selected: Iterable[tuple[Any, ...]],
                   seen: set[tuple[str, str, str]]) -> tuple[list[dict[str, Any]], dict[str, ApiFailure]]:
    """The label-selected lists (keys: kind first), one object once; the first failure of each kind."""
    out: list[dict[str, Any]] = []
    failed: dict[str, ApiFailure] = {}
    for key in selected:
        kind = key[0]
        r = results.get(key)
        if r is None:
            continue
        if isinstance(r, ApiFailure):
            failed.setdefault(kind, r)
            continue
        for obj in r:
            k = (kind, *_key(obj)[1:])
            if k not in seen:
                seen.add(k)
                out.append(obj)
    return out, failed


def collect(futures: dict[Any, Any], results: Results, until: float) -> None:
    """Wait for the requests of `futures` (future -> key) and put each answer in `results`."""
    # Each request carries its own timeout; the grace covers a request that
    # started just before `until`.
    done, not_done = wait(futures, timeout=max(0.0, until - time.monotonic()) + 1.0)
    for fut in done:
        exc = fut.exception()
        if exc is not None and not isinstance(exc, ApiFailure):
            # A bug in the reader: shown as this kind's error, the others go on.
            exc = ApiFailure("internal", f"internal error: {exc!r}"[:300])
        results[futures[fut]] = exc if exc is not None else fut.result()
    for fut in not_done:
        fut.cancel()
        results[futures[fut]] = ApiFailure("timeout", "timed out")


def choose(chooser: Chooser, objects: list[dict[str, Any]], kind: str,
           errors: list[dict[str, Any]]) -> list[tuple[str, str]] | None:
    try:
        return sorted({(str(ns), str(n)) for ns, n in chooser(objects) if ns and n})
    except Exception as e:  # the chooser is diagnosis code: a bug there must not end the read
        errors.append({"kind": kind, "status": "error", "reason": f"choosing {kind}s failed: {e!r}"[:300]})
        return None


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """The cyclic garbage collector paused while the lists arrive.

    The objects read are plain acyclic dicts and lists, all kept: every collection the
    allocations trigger walks the whole growing heap for nothing (measured: about 0.9 s of
    CPU for 17,500 objects, more than the JSON parsing itself). Reference counting still
    frees what is dropped; the collector runs again as soon as the read is done.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:  # a reader that found it off (another read in progress) leaves it to that one
            gc.enable()


class _Read:
    """One read of one cluster within `timeout` seconds."""

    def __init__(self, api_client: Any, target: Target, timeout: float) -> None:
        self.req = Requests(api_client)
        self.target = target
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="edgedoctor-kube")
        self.failed: dict[str, ApiFailure] = {}  # a narrow kind whose selected list failed
        self.errors: list[dict[str, Any]] = []

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def fail(self, kind: str, f: ApiFailure, budget: float) -> None:
        if kind not in self.failed:
            self.failed[kind] = f
            self.errors.append(report.error_entry(self.target, kind, f, budget))

    def probe(self) -> ClusterEvidence | None:
        """One cheap request first, so a dead server costs one timeout, not one per kind."""
        budget = min(self.left(), max(1.0, self.timeout * 0.3))
        try:
            version = self.req.get_json("/version", [], time.monotonic() + budget)
        except ApiFailure as f:
            if f.what == "timeout":
                return report.unreachable(self.target, f"no answer within {budget:.1f}s")
            if f.what in ("connect", "internal"):
                return report.unreachable(self.target, f.message)
            if f.status == 401:
                return report.rejected(self.target)
            if f.status == 404 or (f.status == 200 and "other than" in f.message):
                # Every API server answers /version; a web server that 404s everything would
                # otherwise read as "no CRDs installed" and every node below as skipped.
                return report.not_kubernetes(self.target, f"/version answers {f.status}: {f.message or 'not found'}")
            # Any other HTTP answer: the server is there; the LISTs will tell the rest.
            return None
        if not isinstance(version.get("gitVersion"), str):
            return report.not_kubernetes(self.target, "/version carries no gitVersion")
        return None

    def read(self, secret_names: Chooser, service_names: Chooser, gateway_names: Chooser | None) -> ClusterEvidence:
        try:
            dead = self.probe()
            if dead is not None:
                return dead
            listed = self._lists(gateway_names is None)
            if isinstance(listed, ClusterEvidence):
                return listed
            objects, kinds_read = listed
            narrow, narrow_read = self._read_narrow(objects, secret_names, service_names, gateway_names)
        finally:
            self.pool.shutdown(wait=False, cancel_futures=True)
        return ClusterEvidence(objects=objects + narrow, errors=self.errors, reachable=True,
                               context=self.target.context, cluster=self.target.cluster,
                               kinds_read=kinds_read + narrow_read)

    def _lists(self, all_data_planes: bool) -> tuple[list[dict[str, Any]], list[str]] | ClusterEvidence:
        """The cluster-wide LISTs and the controllers (and, without a host to narrow them,
        every Gateway's data plane), concurrently."""
        wide = [k for k in KINDS if k.kind not in NARROW]
        # The LISTs get most of what is left; the narrow reads that depend on them the rest.
        budget = max(0.1, self.left() * 0.6)
        until = time.monotonic() + budget
        selected = wanted.CONTROLLERS + (wanted.DATA_PLANE_ALL if all_data_planes else ())
        futures: dict[Any, Any] = {self.pool.submit(self.req.list_kind, k, until): k.kind for k in wide}
        for kind, selector in selected:
            futures[self.pool.submit(self.req.list_kind, BY_KIND[kind], until, None, selector)] = (kind, selector)
        results: Results = {}
        collect(futures, results, until)
        if all(isinstance(r, ApiFailure) and r.what == "connect" for r in results.values()):
            first = next(iter(results.values()))
            return report.unreachable(self.target, first.message)
        objects: list[dict[str, Any]] = []
        kinds_read: list[str] = []
        for k in wide:
            r = results[k.kind]
            if isinstance(r, ApiFailure):
                self.errors.append(report.error_entry(self.target, k, r, budget))
            else:
                objects.extend(r)
                kinds_read.append(k.kind)
        chosen, failed = merge_selected(results, selected, set())
        for kind, f in failed.items():
            self.fail(kind, f, budget)
        return objects + chosen, kinds_read

    def _data_plane(self, objects: list[dict[str, Any]], gateway_names: Chooser, until: float,
                    budget: float) -> list[dict[str, Any]]:
        """The Envoy Deployments and Services of the chosen Gateways, by Envoy Gateway's owner
        labels (per Gateway, and per GatewayClass for a merged-gateways data plane), in the
        namespaces they can live in: the controller's and the Gateway's own. Without a
        labelled controller in sight, across the cluster."""
        chosen = set(choose(gateway_names, objects, "Gateway", self.errors) or [])
        controller = wanted.envoy_gateway_namespaces(objects)
        by_class: dict[str, set[str]] = {}
        for o in objects:
            if o.get("kind") == "Gateway" and _key(o)[1:] in chosen:
                by_class.setdefault(str((o.get("spec") or {}).get("gatewayClassName") or ""), set()).add(_key(o)[1])
        wanted_lists = [(wanted.OWNING_GATEWAY.format(name=name, ns=ns), {ns}) for ns, name in sorted(chosen)]
        wanted_lists += [(wanted.OWNING_CLASS.format(cls=c), spaces) for c, spaces in sorted(by_class.items()) if c]
        selected: list[tuple[str, str, str | None]] = []
        for sel, own in wanted_lists:
            spaces: list[str | None] = sorted(controller | own) if controller else [None]
            selected += [(kind, sel, ns) for ns in spaces for kind in ("Deployment", "Service")]
        futures = {self.pool.submit(self.req.list_kind, BY_KIND[kind], until, ns, sel): (kind, sel, ns)
                   for kind, sel, ns in selected}
        results: Results = {}
        if futures:
            collect(futures, results, until)
        out, bad = merge_selected(results, selected, {_key(o) for o in objects if o.get("kind") in ("Deployment", "Service")})
        for kind, f in bad.items():
            self.fail(kind, f, budget)
        return out

    def _fallback(self, objects: list[dict[str, Any]], until: float, budget: float) -> list[dict[str, Any]]:
        """A controller role the objects need but no label found: one look across all
        Deployments (a hand-made install without the charts' labels)."""
        if "Deployment" in self.failed or not wanted.controller_missing(objects):
            return []
        try:
            found = self.req.list_kind(BY_KIND["Deployment"], until)
        except ApiFailure as f:
            self.fail("Deployment", f, budget)
            return []
        have = {_key(o) for o in objects}
        return [o for o in found if _key(o) not in have]

    def _read_narrow(self, objects: list[dict[str, Any]], secret_names: Chooser, service_names: Chooser,
                     gateway_names: Chooser | None) -> tuple[list[dict[str, Any]], list[str]]:
        """What the chain names, once the LISTs are in: the new objects and the kinds read whole."""
        budget = max(0.1, self.left())
        until = time.monotonic() + budget
        plane = self._data_plane(objects, gateway_names, until, budget) if gateway_names is not None else []
        fallback = self._fallback(objects + plane, until, budget)
        every = objects + plane + fallback
        deployments_read = "Deployment" not in self.failed
        secrets = choose(secret_names, every, "Secret", self.errors)
        services = choose(service_names, every, "Service", self.errors)
        configmaps = wanted.dns_server_configmaps(every) if deployments_read else []
        requests: list[tuple[str, str, str, Callable[[], Any]]] = []
        for ns, name in secrets or []:
            requests.append(("Secret", ns, name, self._get("Secret", ns, name, until)))
        # A kind whose selected list already failed is unknown: its narrow reads would fail
        # the same way and repeat the cause.
        have = {_key(o)[1:] for o in every if o.get("kind") == "Service"}
        for ns, name in services if services is not None and "Service" not in self.failed else []:
            if (ns, name) not in have:
                requests.append(("Service", ns, name, self._get("Service", ns, name, until)))
            requests.append(("EndpointSlice", ns, name, self._slices(ns, name, until)))
        for ns, name in configmaps:
            requests.append(("ConfigMap", ns, name, self._get("ConfigMap", ns, name, until)))
        results: Results = {}
        if requests:
            collect({self.pool.submit(call): (kind, ns, name) for kind, ns, name, call in requests}, results, until)
        ok = {"Secret": secrets is not None, "Service": services is not None and "Service" not in self.failed,
              "EndpointSlice": services is not None, "ConfigMap": deployments_read, "Deployment": deployments_read}
        out = fallback + plane + self._narrow_objects(results, ok, budget)
        if not deployments_read:
            self.errors.append({"kind": "ConfigMap", "status": "unknown",
                                "reason": "not read: Deployments could not be listed to find the DNS servers' Corefiles"})
        return out, [k for k in NARROW_ORDER if ok[k]]

    def _get(self, kind: str, ns: str, name: str, until: float) -> Callable[[], Any]:
        return lambda: self.req.get_named(kind, ns, name, until)

    def _slices(self, ns: str, name: str, until: float) -> Callable[[], Any]:
        return lambda: self.req.list_kind(BY_KIND["EndpointSlice"], until, ns, f"kubernetes.io/service-name={name}")

    def _narrow_objects(self, results: Results, ok: dict[str, bool], budget: float) -> list[dict[str, Any]]:
        """The answers of the narrow reads in a stable order; a failed one marks its kind."""
        out: list[dict[str, Any]] = []
        for key in sorted(results, key=lambda t: (t[0], t[1], t[2] or "")):
            kind, ns, name = key
            r = results[key]
            if isinstance(r, ApiFailure):
                entry = report.error_entry(self.target, kind, r, budget, "list" if kind == "EndpointSlice" else "get")
                entry["reason"] = f"{ns}/{name}: {entry['reason']}"
                self.errors.append(entry)
                ok[kind] = False
            elif isinstance(r, list):
                out.extend(r)
            elif r is not None and (kind != "ConfigMap" or "Corefile" in (r.get("data") or {})):
                out.append(r)
        return out


def read_live(
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    timeout: float = 10.0,
    secret_names: Chooser | None = None,
    service_names: Chooser | None = None,
    gateway_names: Chooser | None = None,
) -> ClusterEvidence:
    """Read the cluster of `context` (kubectl's rules) within `timeout` seconds.

    The choosers say which Secrets, Services and Gateways (their data plane) to read from
    the objects listed; without one, what any host may need (`wanted`, hosts None), and
    every Gateway's data plane at once.
    Raises LiveConfigError when no usable credentials are found; everything that
    happens on the wire is reported inside the returned ClusterEvidence.
    """
    api_client, target = load_api_client(kubeconfig, context)
    try:
        with no_cyclic_gc():
            return _Read(api_client, target, timeout).read(
                secret_names or (lambda objects: wanted.needed_secrets(None, objects)),
                service_names or (lambda objects: wanted.needed_services(None, objects)),
                gateway_names,
            )
    finally:
        _close(api_client)


def _close(api_client: Any) -> None:
    try:
        api_client.rest_client.pool_manager.clear()
    finally:
        api_client.close()
