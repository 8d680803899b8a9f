"""One index of a cluster, shared by every host of a sweep, and a per-host view of it.

`diagnose(ev)` indexes the whole cluster and its layers scan every Gateway, route,
Certificate and Service for the host: fine once, quadratic for 10,000 hosts. A sweep
indexes the cluster once (`FleetIndex`) and hands the engine a `HostView` per host. The
view answers every query exactly as a full `ClusterIndex` would, except that `all(kind)`
for the kinds the layers scan by hostname returns only the objects that can pass the
layers' own filters for this host (in the cluster's order). When nothing can, it returns
the full list, so that "is there any object of this kind at all" and the lists of
everything shown when nothing matches stay those of a single check.

tests/test_fleet_view.py proves it: for every case and recording, the view's diagnosis
equals the full one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from edgedoctor.diagnosis.index import ClusterIndex, Obj, as_dict, as_list, labels, ns_of, spec
from edgedoctor.evidence import ClusterEvidence

TLS_PROTOCOLS = ("HTTPS", "TLS")
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute")
_EG_LABELS = ("gateway.envoyproxy.io/owning-gateway-name", "gateway.envoyproxy.io/owning-gatewayclass")


def _norm(name: Any) -> str:
    return str(name).strip().lower().rstrip(".")


def patterns_for(host: str) -> list[str]:
    """Every Gateway API hostname or certificate SAN that can accept `host`: the host
    itself and a wildcard over each of its parent domains (`*.b.c` and `*.c` for a.b.c)."""
    labels_ = host.split(".")
    return [host] + ["*." + ".".join(labels_[i:]) for i in range(1, len(labels_))]


class _ByPattern:
    """Objects keyed by the hostnames (or SANs) they carry; objects without any go to `anyhost`."""

    def __init__(self) -> None:
        self.keyed: dict[str, list[int]] = defaultdict(list)
        self.anyhost: list[int] = []

    def add(self, pos: int, names: list[str]) -> None:
        if not names:
            self.anyhost.append(pos)
            return
        for n in set(names):
            self.keyed[n].append(pos)

    def lookup(self, host: str) -> set[int]:
        out = set(self.anyhost)
        for p in patterns_for(host):
            out.update(self.keyed.get(p, ()))
        return out


class FleetIndex(ClusterIndex):
    """The full index of one cluster, plus hostname indexes for the per-host views."""

    def __init__(self, cluster: ClusterEvidence) -> None:
        super().__init__(cluster)
        self._ns: dict[tuple[str, str], list[Obj]] = defaultdict(list)
        for kind, objs in self._by_kind.items():
            for o in objs:
                self._ns[(kind, ns_of(o))].append(o)
        self._gateways = _ByPattern()
        for pos, gw in enumerate(self.all("Gateway")):
            names: list[str] = []
            open_ = False
            for ls in as_list(spec(gw).get("listeners")):
                ls = as_dict(ls)
                if str(ls.get("protocol") or "").upper() not in TLS_PROTOCOLS:
                    continue
                if ls.get("hostname"):
                    names.append(_norm(ls["hostname"]))
                else:
                    open_ = True
            if open_:
                self._gateways.anyhost.append(pos)
            elif names:
                self._gateways.add(pos, names)
        self._routes: dict[str, _ByPattern] = {}
        for kind in ROUTE_KINDS:
            bp = _ByPattern()
            for pos, r in enumerate(self.all(kind)):
                bp.add(pos, [_norm(h) for h in as_list(spec(r).get("hostnames")) if h])
            self._routes[kind] = bp
        self._certs = _ByPattern()
        for pos, c in enumerate(self.all("Certificate")):
            names = [_norm(n) for n in as_list(spec(c).get("dnsNames")) if n]
            if names:  # a Certificate without dnsNames can never match a host
                self._certs.add(pos, names)
        # The Services the load-balancer layer looks for: Envoy Gateway's own (by label)
        # and LoadBalancer Services (GatewayNamespace mode). Not host-specific.
        self._lb_services = [
            s for s in self.all("Service")
            if spec(s).get("type") == "LoadBalancer" or any(k in labels(s) for k in _EG_LABELS)
        ]

    def in_namespace(self, kind: str, namespace: str) -> Iterable[Obj]:
        # The same objects, in the same order, as filtering all(kind) by namespace.
        self._consult(kind)
        return iter(self._ns.get((kind, namespace), ()))

    def view(self, host: str) -> HostView:
        return HostView(self, host)

    def _pick(self, kind: str, positions: set[int]) -> list[Obj]:
        full = self._by_kind.get(kind, [])
        if not positions:
            return full
        return [full[p] for p in sorted(positions)]


class HostView(ClusterIndex):
    """What the engine's layers need of the cluster for one host (see the module doc).

    It shares the base's tables and keeps its own per-diagnosis state (`consulted_gaps`),
    so hosts diagnosed at the same time in several threads never mix their answers.
    """

    def __init__(self, base: FleetIndex, host: str) -> None:  # no super().__init__: nothing to index
        # Every table of the base (and any cache it keeps per index, such as mistyped
        # objects), shared; then this diagnosis's own state.
        self.__dict__.update(base.__dict__)
        self.base = base
        self.host = host
        self.consulted_gaps: set[str] = set()
        self._narrow: dict[str, list[Obj]] = {}

    def all(self, kind: str) -> list[Obj]:
        self._consult(kind)
        got = self._narrow.get(kind)
        if got is not None:
            return got
        b = self.base
        if kind == "Gateway":
            got = b._pick(kind, b._gateways.lookup(self.host))
        elif kind in ROUTE_KINDS:
            got = b._pick(kind, b._routes[kind].lookup(self.host))
        elif kind == "Certificate":
            got = b._pick(kind, b._certs.lookup(self.host))
        elif kind == "Service":
            got = b._lb_services if b._lb_services else self._by_kind.get(kind, [])
        else:
            got = self._by_kind.get(kind, [])
        self._narrow[kind] = got
        return got

    def in_namespace(self, kind: str, namespace: str) -> Iterable[Obj]:
        self._consult(kind)
        return iter(self.base._ns.get((kind, namespace), ()))

    # owned_by is ClusterIndex's: it is only asked for CertificateRequests, Orders and
    # Challenges, which all() never narrows.
