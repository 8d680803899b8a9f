"""Fast lookups over the cluster objects: by kind, by namespace/name, by owner.

Built once per diagnosis; every layer reads through it. Objects may come from
hand-written snapshots, so every accessor tolerates missing or mistyped fields.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from edgedoctor.evidence import ClusterEvidence

Obj = dict[str, Any]
T = TypeVar("T")


def meta(obj: Obj) -> dict[str, Any]:
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


# name_of and ns_of read metadata themselves: they are called hundreds of thousands of
# times when many hosts are diagnosed, and a string field is returned as it is.
def name_of(obj: Obj) -> str:
    m = obj.get("metadata")
    if not isinstance(m, dict):
        return ""
    v = m.get("name")
    return v if type(v) is str else str(v or "")


def ns_of(obj: Obj) -> str:
    m = obj.get("metadata")
    if not isinstance(m, dict):
        return ""
    v = m.get("namespace")
    return v if type(v) is str else str(v or "")


def ref(obj: Obj) -> str:
    ns = ns_of(obj)
    return f"{ns}/{name_of(obj)}" if ns else name_of(obj)


def spec(obj: Obj) -> dict[str, Any]:
    s = obj.get("spec")
    return s if isinstance(s, dict) else {}


def status(obj: Obj) -> dict[str, Any]:
    s = obj.get("status")
    return s if isinstance(s, dict) else {}


def labels(obj: Obj) -> dict[str, str]:
    v = meta(obj).get("labels")
    return {str(k): str(x) for k, x in v.items()} if isinstance(v, dict) else {}


def annotations_of(obj: Obj) -> dict[str, str]:
    v = meta(obj).get("annotations")
    return {str(k): str(x) for k, x in v.items()} if isinstance(v, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def condition(conditions: Any, type_: str) -> dict[str, Any] | None:
    for c in as_list(conditions):
        if isinstance(c, dict) and c.get("type") == type_:
            return c
    return None


def cond_status(conditions: Any, type_: str) -> str | None:
    c = condition(conditions, type_)
    if c is None:
        return None
    return str(c.get("status", "Unknown"))


class ClusterIndex:
    def __init__(self, cluster: ClusterEvidence) -> None:
        self.cluster = cluster
        self._by_kind: dict[str, list[Obj]] = defaultdict(list)
        self._by_key: dict[tuple[str, str, str], Obj] = {}
        self._by_uid: dict[str, Obj] = {}
        self._children: dict[str, list[Obj]] = defaultdict(list)
        for obj in cluster.objects:
            kind = obj.get("kind")
            if not isinstance(kind, str):
                continue
            self._by_kind[kind].append(obj)
            self._by_key[(kind, ns_of(obj), name_of(obj))] = obj
            m = meta(obj)
            uid = m.get("uid")
            if isinstance(uid, str) and uid:
                self._by_uid[uid] = obj
            for owner in as_list(m.get("ownerReferences")):
                if isinstance(owner, dict) and isinstance(owner.get("uid"), str):
                    self._children[owner["uid"]].append(obj)
        self.read_kinds = set(cluster.kinds_read) | set(self._by_kind)
        self._mistyped: dict[str, list[tuple[Obj, list[str]]]] = {}
        # Kinds whose absence a layer asked about while they could not be read: the
        # diagnosis names them beside a root cause they may have hidden.
        self.consulted_gaps: set[str] = set()
        self.errors_by_kind: dict[str, dict[str, Any]] = {}
        for e in cluster.errors:
            k = e.get("kind")
            if isinstance(k, str) and k not in ("?",):
                self.errors_by_kind.setdefault(k, e)

    def _consult(self, kind: str) -> None:
        if kind in self.errors_by_kind or "*" in self.errors_by_kind:
            self.consulted_gaps.add(kind)

    def all(self, kind: str) -> list[Obj]:
        self._consult(kind)
        return self._by_kind.get(kind, [])

    def mistyped(self, kind: str) -> list[tuple[Obj, list[str]]]:
        """Objects of `kind` with a field of the wrong type, and those fields; computed once
        per index (many hosts diagnosed over one index share it)."""
        if kind not in self._mistyped:
            from edgedoctor.diagnosis.fieldtypes import wrong_fields

            found = []
            for o in self._by_kind.get(kind, []):
                bad = wrong_fields(o)
                if bad:
                    found.append((o, bad))
            self._mistyped[kind] = found
        return self._mistyped[kind]

    def derived(self, what: str, obj: Obj, compute: Callable[[Obj], T]) -> T:
        """`compute(obj)`: a fact derived from one object (its listeners, its hostnames).
        An index that serves many diagnoses over objects that no longer change (lint's)
        computes each once; callers treat the value as read-only."""
        return compute(obj)

    def certificates_writing(self, namespace: str, secret: str) -> list[Obj]:
        """The Certificates in `namespace` whose spec.secretName is `secret`, in index order."""
        return [c for c in self.in_namespace("Certificate", namespace) if spec(c).get("secretName") == secret]

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        self._consult(kind)
        return self._by_key.get((kind, namespace, name))

    def was_read(self, kind: str) -> bool:
        """True when the absence of an object of this kind means it does not exist."""
        if "*" in self.errors_by_kind or kind in self.errors_by_kind:
            self._consult(kind)
            return False
        return kind in self.read_kinds

    def read_error(self, kind: str) -> dict[str, Any] | None:
        return self.errors_by_kind.get(kind) or self.errors_by_kind.get("*")

    def owned_by(self, owner: Obj, kind: str) -> list[Obj]:
        """Objects of `kind` that `owner` controls (controller ownerReference), as cmctl does.

        Falls back to owner kind+name when a hand-written object carries no uid.
        """
        uid = meta(owner).get("uid")
        out: list[Obj] = []
        if isinstance(uid, str) and uid:
            out = [c for c in self._children.get(uid, []) if c.get("kind") == kind]
            if out:
                return out
        oname, okind, ons = name_of(owner), owner.get("kind"), ns_of(owner)
        for c in self.all(kind):
            if ns_of(c) != ons:
                continue
            for o in as_list(meta(c).get("ownerReferences")):
                if not isinstance(o, dict):
                    continue
                if o.get("kind") == okind and o.get("name") == oname and not (
                    isinstance(uid, str) and uid and o.get("uid") and o.get("uid") != uid
                ):
                    out.append(c)
                    break
        return out

    def status_times(self, obj: Obj, depth: int = 0) -> list[Any]:
        """The condition lastTransitionTimes of `obj`, or else of its nearest owner that has any
        (a Challenge's and an Order's come from their CertificateRequest)."""
        from edgedoctor.timefmt import parse_rfc3339

        out = [t for c in as_list(status(obj).get("conditions")) if isinstance(c, dict)
               for t in [parse_rfc3339(c.get("lastTransitionTime"))] if t is not None]
        if not out and depth < 5:
            for o in as_list(meta(obj).get("ownerReferences")):
                owner = self._by_uid.get(str(o.get("uid"))) if isinstance(o, dict) else None
                if owner is not None and owner is not obj:
                    out += self.status_times(owner, depth + 1)
        return out

    def in_namespace(self, kind: str, namespace: str) -> Iterable[Obj]:
        return (o for o in self.all(kind) if ns_of(o) == namespace)
