"""The cluster objects behind a diagnosis node, looked up in the evidence (no textual).

The engine names its objects in node details and finding evidence ("gateway":
"gateway/external", "object": "Challenge gateway/x", ...). This module only
reads those names back and finds the objects; it decides nothing.
"""

from __future__ import annotations

import re
from typing import Any

from edgedoctor.diagnosis import commands as cmd
from edgedoctor.evidence import Evidence
from edgedoctor.kinds import BY_KIND
from edgedoctor.model import Diagnosis
from edgedoctor.textfmt import dump_yaml

# Keys the engine uses for an object reference "namespace/name" (or a bare name).
_KEY_KIND = {
    "gateway": "Gateway",
    "gatewayclass": "GatewayClass",
    "route": "HTTPRoute",
    "service": "Service",
    "certificate": "Certificate",
    "request": "CertificateRequest",
    "order": "Order",
    "challenge": "Challenge",
    "secret": "Secret",
    "listener_secret": "Secret",
    "deployment": "Deployment",
    "policy": "ClientTrafficPolicy",
    "clusterissuer": "ClusterIssuer",
}
# The object a node is about comes first; the listener lives inside its Gateway.
_NODE_KIND = {
    "load-balancer": "Service",
    "gateway": "Gateway",
    "listener": "Gateway",
    "route": "HTTPRoute",
    "backend": "Service",
    "certificate": "Certificate",
    "certificate-request": "CertificateRequest",
    "order": "Order",
    "challenge": "Challenge",
    "secret": "Secret",
    "dns": "Deployment",
}
_KIND_REF = re.compile(r"^([A-Z][A-Za-z]+) ([a-z0-9][-a-z0-9.]*/)?([a-z0-9*][-a-z0-9.*]*)$")

Ref = tuple[str, str, str]  # kind, namespace ("" when cluster-scoped), name


def _split(kind: str, value: str) -> Ref | None:
    if not value or " " in value or value.count("/") > 1:
        return None
    ns, _, name = value.rpartition("/")
    if not name:
        return None
    k = BY_KIND.get(kind)
    if k is not None and not k.namespaced:
        return (kind, "", name)
    return (kind, ns, name)


def _walk(data: Any, out: list[Ref], route_kind: str) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, str):
                kind = _KEY_KIND.get(key)
                if kind == "HTTPRoute":
                    kind = route_kind
                ref = _split(kind, value) if kind else None
                if ref is None:
                    m = _KIND_REF.match(value)
                    if m and m.group(1) in BY_KIND:
                        ref = _split(m.group(1), (m.group(2) or "") + m.group(3))
                if ref is not None and ref not in out:
                    out.append(ref)
            else:
                _walk(value, out, route_kind)
    elif isinstance(data, list):
        for item in data:
            _walk(item, out, route_kind)


def node_refs(d: Diagnosis, node: str) -> list[Ref]:
    """The objects a node names, the node's own kind first."""
    n = d.node(node)
    out: list[Ref] = []
    details = n.details if n else {}
    route_kind = str(details.get("kind") or "HTTPRoute") if node == "route" else "HTTPRoute"
    _walk(details, out, route_kind)
    for f in d.findings:
        if f.node == node:
            _walk(f.evidence, out, route_kind)
    if node == "listener" and not any(r[0] == "Gateway" for r in out):
        gw = d.node("gateway")
        if gw is not None:
            _walk({"gateway": gw.details.get("gateway")}, out, route_kind)
    first = _NODE_KIND.get(node)
    out.sort(key=lambda r: 0 if r[0] == first else 1)
    return out


def find_object(ev: Evidence, ref: Ref) -> dict[str, Any] | None:
    kind, ns, name = ref
    for o in ev.cluster.objects:
        meta = o.get("metadata") or {}
        if o.get("kind") == kind and meta.get("name") == name and (meta.get("namespace") or "") == ns:
            return o
    return None


def node_objects(ev: Evidence, d: Diagnosis, node: str) -> list[tuple[Ref, dict[str, Any] | None]]:
    """Each object the node names, with the object from the evidence (None: not there)."""
    return [(ref, find_object(ev, ref)) for ref in node_refs(d, node)]


def ref_text(ref: Ref) -> str:
    kind, ns, name = ref
    return f"{kind} {ns}/{name}" if ns else f"{kind} {name}"


def to_yaml(obj: dict[str, Any]) -> str:
    # Evidence is already redacted; redacting again costs nothing and keeps a
    # hand-made snapshot from ever showing a key.
    from edgedoctor.redact import redact_object  # only when an object's YAML is shown

    clean = redact_object(obj)
    return dump_yaml(clean)


def object_commands(refs: list[Ref]) -> list[str]:
    """kubectl get -o yaml / describe for each object: the "see it yourself" of a node."""
    out: list[str] = []
    for kind, ns, name in refs:
        resource = BY_KIND[kind].plural if kind in BY_KIND else kind.lower()
        for c in (cmd.get_yaml(resource, ns, name), cmd.describe(resource, ns, name)):
            if c not in out:
                out.append(c)
    return out
