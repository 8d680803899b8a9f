"""One index for many hosts.

`edgedoctor check` builds an index per host; a lint of a tree with ten thousand routes
diagnoses ten thousand hosts over one set of objects. The objects are indexed once, by
hostname bucket for Gateways and routes and by namespace for the rest, and each host gets
a view whose `all()` holds only the Gateways and routes that can concern it. The layers
read the view exactly as they read a full index, so the answers are the same.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from edgedoctor.diagnosis.index import ClusterIndex, Obj, as_dict, as_list, labels, ns_of, spec
from edgedoctor.diagnosis.routes import ROUTE_KINDS, parent_refs, route_hostnames
from edgedoctor.evidence import ClusterEvidence

T = TypeVar("T")


def _suffixes(host: str) -> list[str]:
    """`*.b.example.com`, `*.example.com`, `*.com` for `a.b.example.com`."""
    labels_ = host.split(".")
    return ["*." + ".".join(labels_[i:]) for i in range(1, len(labels_))]


class _Buckets:
    def __init__(self) -> None:
        self.exact: dict[str, list[Obj]] = defaultdict(list)
        self.wild: dict[str, list[Obj]] = defaultdict(list)
        self.any: list[Obj] = []
        # Some object sits in more than one bucket (several distinct names).
        self.overlap = False

    def add(self, obj: Obj, names: Iterable[str | None]) -> None:
        seen: set[str] = set()
        for n in names:
            if not n:
                if "" not in seen:
                    self.any.append(obj)
                    seen.add("")
                continue
            n = n.lower().rstrip(".")
            if n in seen:
                continue
            seen.add(n)
            (self.wild if n.startswith("*.") else self.exact)[n].append(obj)
        self.overlap = self.overlap or len(seen) > 1

    def lookup(self, host: str, suffixes: list[str]) -> list[Obj]:
        """The objects whose names can match `host` (`suffixes` are `_suffixes(host)`)."""
        if not (self.exact or self.wild or self.any):
            return []
        wild = self.wild
        parts = [x for x in (self.exact.get(host), *(wild.get(s) for s in suffixes), self.any) if x]
        if len(parts) <= 1:
            return parts[0] if parts else []
        if not self.overlap:  # each object is in one bucket: no duplicates to drop
            return [o for part in parts for o in part]
        # An object named through several patterns appears once, in input order.
        seen: set[int] = set()
        uniq = []
        for part in parts:
            for o in part:
                if id(o) not in seen:
                    seen.add(id(o))
                    uniq.append(o)
        return uniq


class SharedIndex(ClusterIndex):
    """The full index, plus the buckets the per-host views are cut from."""

    def __init__(self, cluster: ClusterEvidence) -> None:
        super().__init__(cluster)
        # (what, id(object)) -> (the object, the fact): the object is kept so its id is
        # never another's.
        self._derived: dict[tuple[str, int], tuple[Obj, Any]] = {}
        # (namespace, spec.secretName) -> Certificates, built at the first question.
        self._writers: dict[tuple[str, str], list[Obj]] | None = None
        self.gateways = _Buckets()
        for gw in self.all("Gateway"):
            self.gateways.add(gw, [as_dict(ls).get("hostname") for ls in as_list(spec(gw).get("listeners"))] or [None])
        self.routes: dict[str, _Buckets] = {}
        for kind in ROUTE_KINDS:
            b = _Buckets()
            for r in self.all(kind):
                b.add(r, route_hostnames(r) or self._parent_hostnames(r))
            self.routes[kind] = b
        self.by_ns: dict[tuple[str, str], list[Obj]] = defaultdict(list)
        for obj in cluster.objects:
            k = obj.get("kind")
            if isinstance(k, str):
                self.by_ns[(k, ns_of(obj))].append(obj)
        # Only Envoy's own Services and Deployments are ever scanned per host (load
        # balancer, data plane); application ones are looked up by name.
        self.envoy_owned = {
            k: [o for o in self.all(k) if any(x.startswith("gateway.envoyproxy.io/") for x in labels(o))
                or spec(o).get("type") == "LoadBalancer"]
            for k in ("Service", "Deployment")
        }
        # The tables every HostView shares with this index, set on it in one step (no
        # reference to the index itself here: that would be a reference cycle).
        self.view_maps: dict[str, Any] = {
            "cluster": self.cluster, "_by_kind": self._by_kind, "_by_key": self._by_key,
            "_by_uid": self._by_uid, "_children": self._children, "read_kinds": self.read_kinds,
            "errors_by_kind": self.errors_by_kind, "_mistyped": self._mistyped,
        }

    def _parent_hostnames(self, route: Obj) -> list[str | None]:
        """A route without hostnames takes its listeners': it can only concern the hosts
        its parent Gateways' listeners accept (any host, when one has no hostname or a
        parent is not among the objects)."""
        out: list[str | None] = []
        for p in parent_refs(route):
            gw = self.get("Gateway", str(p.get("namespace") or ns_of(route)), str(p.get("name") or ""))
            if gw is None:
                return [None]
            for ls in as_list(spec(gw).get("listeners")):
                out.append(as_dict(ls).get("hostname") or None)
        return out or [None]

    def derived(self, what: str, obj: Obj, compute: Callable[[Obj], T]) -> T:
        """Computed once for all hosts. Only the layers ask, after the statuses are
        predicted (`forget_derived` drops anything asked before)."""
        key = (what, id(obj))
        hit = self._derived.get(key)
        if hit is None or hit[0] is not obj:
            hit = self._derived[key] = (obj, compute(obj))
        return hit[1]  # type: ignore[no-any-return]

    def forget_derived(self) -> None:
        self._derived.clear()
        self._writers = None

    def certificates_writing(self, namespace: str, secret: str) -> list[Obj]:
        if self._writers is None:
            self._writers = defaultdict(list)
            for c in self.all("Certificate"):
                name = spec(c).get("secretName")
                if isinstance(name, str):  # only a string equals a Secret's name
                    self._writers[(ns_of(c), name)].append(c)
        return self._writers.get((namespace, secret), [])

    def view(self, host: str) -> ClusterIndex:
        return HostView(self, host)


class HostView(ClusterIndex):
    def __init__(self, shared: SharedIndex, host: str) -> None:  # no super(): shares the maps
        self.__dict__.update(shared.view_maps)
        self._shared = shared
        self.derived = shared.derived  # type: ignore[method-assign]
        self.consulted_gaps: set[str] = set()
        suffixes = _suffixes(host)
        self._cut: dict[str, list[Obj]] = {"Gateway": shared.gateways.lookup(host, suffixes), **shared.envoy_owned}
        for kind, b in shared.routes.items():
            self._cut[kind] = b.lookup(host, suffixes)

    def all(self, kind: str) -> list[Obj]:
        self._consult(kind)
        cut = self._cut.get(kind)
        return cut if cut is not None else self._by_kind.get(kind, [])

    def in_namespace(self, kind: str, namespace: str) -> Iterable[Obj]:
        self._consult(kind)
        return iter(self._shared.by_ns.get((kind, namespace), ()))

    def certificates_writing(self, namespace: str, secret: str) -> list[Obj]:
        self._consult("Certificate")
        return self._shared.certificates_writing(namespace, secret)
