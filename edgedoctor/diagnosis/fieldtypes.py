"""A field of the wrong type on the host's path is never a silent pass.

The layers read objects through tolerant accessors (`as_list`, `as_dict`): an HTTPRoute
whose `spec.hostnames` is the integer 7 reads as "no hostnames", which Gateway API means
"every host". Judging the host from such an object would be a guess. This module knows
the type of every field the diagnosis reads; after the layers ran, an object on the host's
path (or one that could be on it, had the field been right) with a field of the wrong type
turns its node `unknown`, naming the object and the field. Pure: plain data in and out.
"""

from __future__ import annotations

from typing import Any

# Field path -> expected JSON type, for the fields the layers read. `[]` is "each item".
_CONDITIONS = {"status.conditions": list, "status.conditions[]": dict,
               "status.conditions[].type": str, "status.conditions[].status": str}
_META = {"metadata": dict, "metadata.name": str, "metadata.namespace": str,
         "metadata.annotations": dict, "metadata.labels": dict, "metadata.ownerReferences": list,
         "spec": dict, "status": dict}

SCHEMAS: dict[str, dict[str, type]] = {
    "GatewayClass": {**_META, **_CONDITIONS, "spec.controllerName": str},
    "Gateway": {
        **_META, **_CONDITIONS,
        "spec.gatewayClassName": str, "spec.listeners": list, "spec.listeners[]": dict,
        "spec.listeners[].name": str, "spec.listeners[].hostname": str, "spec.listeners[].port": int,
        "spec.listeners[].protocol": str, "spec.listeners[].tls": dict,
        "spec.listeners[].tls.certificateRefs": list, "spec.listeners[].tls.certificateRefs[]": dict,
        "spec.listeners[].tls.certificateRefs[].name": str,
        "spec.listeners[].tls.certificateRefs[].namespace": str,
        "spec.listeners[].allowedRoutes": dict,
        "status.addresses": list, "status.addresses[]": dict, "status.addresses[].value": str,
        "status.listeners": list, "status.listeners[]": dict, "status.listeners[].name": str,
        "status.listeners[].conditions": list, "status.listeners[].conditions[]": dict,
    },
    "HTTPRoute": {
        **_META,
        "spec.hostnames": list, "spec.hostnames[]": str,
        "spec.parentRefs": list, "spec.parentRefs[]": dict, "spec.parentRefs[].name": str,
        "spec.parentRefs[].namespace": str, "spec.parentRefs[].sectionName": str,
        "spec.parentRefs[].port": int,
        "spec.rules": list, "spec.rules[]": dict, "spec.rules[].matches": list,
        "spec.rules[].filters": list, "spec.rules[].backendRefs": list,
        "spec.rules[].backendRefs[]": dict, "spec.rules[].backendRefs[].name": str,
        "spec.rules[].backendRefs[].namespace": str, "spec.rules[].backendRefs[].port": int,
        "status.parents": list, "status.parents[]": dict, "status.parents[].parentRef": dict,
        "status.parents[].conditions": list, "status.parents[].conditions[]": dict,
    },
    "Service": {**_META, "spec.type": str, "spec.ports": list, "spec.ports[]": dict,
                "spec.ports[].port": int, "spec.selector": dict},
    "Certificate": {
        **_META, **_CONDITIONS,
        "spec.secretName": str, "spec.dnsNames": list, "spec.dnsNames[]": str,
        "spec.issuerRef": dict, "spec.issuerRef.name": str, "spec.issuerRef.kind": str,
        "spec.renewBefore": str, "status.notAfter": str, "status.renewalTime": str,
        "status.revision": int,
    },
    "CertificateRequest": {**_META, **_CONDITIONS, "spec.issuerRef": dict},
    "Order": {**_META, "spec.dnsNames": list, "status.state": str, "status.reason": str,
              "status.authorizations": list},
    "Challenge": {**_META, "spec.dnsName": str, "spec.key": str, "spec.wildcard": bool,
                  "spec.solver": dict, "status.state": str, "status.reason": str,
                  "status.presented": bool, "status.processing": bool},
    "Secret": {**_META, "data": dict, "type": str},
}

NODE_OF_KIND = {"GatewayClass": "gateway", "Gateway": "gateway", "HTTPRoute": "route", "Service": "backend",
                "Certificate": "certificate", "CertificateRequest": "certificate-request", "Order": "order",
                "Challenge": "challenge", "Secret": "secret"}

_TYPE_NAMES = {list: "a list", dict: "a map", str: "a string", int: "an integer", bool: "a boolean"}


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float):
        return "a number"
    for t, n in _TYPE_NAMES.items():
        if isinstance(value, t):
            return n
    return "null" if value is None else type(value).__name__


def _ok(value: Any, want: type) -> bool:
    if want is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, want)


def wrong_fields(obj: dict[str, Any]) -> list[str]:
    """`spec.hostnames is an integer, expected a list` for every mistyped field (null = absent)."""
    kind = str(obj.get("kind"))
    schema = _compiled(kind)
    if not schema or _fits(obj, _trie(kind)):
        return []  # the common case: one walk over the object, no paths built
    out: list[str] = []
    for path, parts, want in schema:
        if all(v is None or _ok(v, want) for v in _reach(obj, parts)):
            continue  # the common case, checked without building paths
        for where, value in _values(obj, path):
            if value is not None and not _ok(value, want):
                out.append(f"{where} is {_type_name(value)}, expected {_TYPE_NAMES[want]}")
    return out


_COMPILED: dict[str, list[tuple[str, tuple[tuple[str, bool], ...], type]]] = {}


def _compiled(kind: str) -> list[tuple[str, tuple[tuple[str, bool], ...], type]]:
    if kind not in _COMPILED:
        _COMPILED[kind] = [
            (path, tuple((p[:-2], True) if p.endswith("[]") else (p, False) for p in path.split(".")), want)
            for path, want in SCHEMAS.get(kind, {}).items()
        ]
    return _COMPILED[kind]


# A schema as a tree: key -> [type of the value, type of each item, subtree under the value
# (a mapping), subtree under each item]; one walk checks every path of the schema.
_Trie = dict[str, list[Any]]
_TRIES: dict[str, _Trie] = {}


def _trie(kind: str) -> _Trie:
    if kind not in _TRIES:
        root: _Trie = {}
        for _path, parts, want in _compiled(kind):
            node = root
            for i, (key, each) in enumerate(parts):
                entry = node.setdefault(key, [None, None, None, None])
                last = i == len(parts) - 1
                if last:
                    entry[1 if each else 0] = want
                else:
                    slot = 3 if each else 2
                    if entry[slot] is None:
                        entry[slot] = {}
                    node = entry[slot]
        _TRIES[kind] = root
    return _TRIES[kind]


def _fits(value: dict[str, Any], node: _Trie) -> bool:
    for key, (want, each_want, sub, each_sub) in node.items():
        child = value.get(key)
        if child is None:
            continue
        if want is not None and not _ok(child, want):
            return False
        if sub is not None and isinstance(child, dict) and not _fits(child, sub):
            return False
        if (each_want is not None or each_sub is not None) and isinstance(child, list):
            for item in child:
                if item is None:
                    continue
                if each_want is not None and not _ok(item, each_want):
                    return False
                if each_sub is not None and isinstance(item, dict) and not _fits(item, each_sub):
                    return False
    return True


def _reach(obj: Any, parts: tuple[tuple[str, bool], ...]) -> list[Any]:
    """The values `_values` finds, without their paths (the fast path of wrong_fields)."""
    found = [obj]
    for key, each in parts:
        nxt: list[Any] = []
        for v in found:
            if isinstance(v, dict) and key in v:
                child = v[key]
                if not each:
                    nxt.append(child)
                elif isinstance(child, list):
                    nxt.extend(child)
        if not nxt:
            return nxt
        found = nxt
    return found


def _values(obj: Any, path: str) -> list[tuple[str, Any]]:
    """(concrete path, value) for `path`; parts under a mistyped parent are not reached."""
    found: list[tuple[str, Any]] = [("", obj)]
    for part in path.split("."):
        each = part.endswith("[]")
        key = part[:-2] if each else part
        nxt: list[tuple[str, Any]] = []
        for where, v in found:
            if not isinstance(v, dict) or key not in v:
                continue
            here = f"{where}.{key}" if where else key
            child = v[key]
            if each:
                if isinstance(child, list):
                    nxt.extend((f"{here}[{i}]", item) for i, item in enumerate(child))
            else:
                nxt.append((here, child))
        found = nxt
    return found
