"""Constructors for the exact changes of steps: what the executor sends, what the
access review asks for, what a person would type, and how to tell it is already done."""

from __future__ import annotations

import json
import shlex
from typing import Any

from edgedoctor.diagnosis.index import Obj, meta, name_of, ns_of
from edgedoctor.kinds import BY_KIND
from edgedoctor.remedy.paths import fmt_path, merge_expects, merge_fields

SECRET_PLACEHOLDER = "<read when applying: never shown or logged>"
KUBECTL_NAMES = {
    "CertificateRequest": "certificaterequest",
    "ClientTrafficPolicy": "clienttrafficpolicy",
    "EnvoyProxy": "envoyproxy",
    "ReferenceGrant": "referencegrant",
    "HTTPRoute": "httproute",
    "GRPCRoute": "grpcroute",
}


def kubectl_kind(kind: str) -> str:
    return KUBECTL_NAMES.get(kind, kind.lower())


def _ns_flag(namespace: str | None) -> str:
    return f"-n {shlex.quote(namespace)} " if namespace else ""


def access(verb: str, kind: str, namespace: str | None, name: str | None = None, subresource: str = "") -> dict[str, Any]:
    k = BY_KIND[kind]
    return {
        "verb": verb,
        "group": k.group,
        "resource": k.plural,
        "subresource": subresource,
        "namespace": namespace if k.namespaced else None,
        "name": name,
    }


def _ident(kind: str, namespace: str | None, name: str) -> dict[str, Any]:
    k = BY_KIND[kind]
    return {"kind": kind, "namespace": namespace if k.namespaced else None, "name": name}


def patch(obj: Obj, body: Any, *, patch_type: str = "merge", expect: list[dict[str, Any]] | None = None,
          fields: list[str] | None = None) -> dict[str, Any]:
    kind, ns, name = str(obj.get("kind")), ns_of(obj) or None, name_of(obj)
    if patch_type == "merge":
        expect = expect if expect is not None else merge_expects(body)
        fields = fields or merge_fields(body)
    return {
        "op": "patch",
        **_ident(kind, ns, name),
        "patch_type": patch_type,
        "body": body,
        "fields": fields or [],
        "expect": expect or [],
        "uid": meta(obj).get("uid"),
        "access": [access("get", kind, ns, name), access("patch", kind, ns, name)],
    }


def patch_command(change: dict[str, Any]) -> str:
    body = json.dumps(change["body"], separators=(",", ":"))
    return (f"kubectl {_ns_flag(change.get('namespace'))}patch {kubectl_kind(change['kind'])} "
            f"{shlex.quote(change['name'])} --type={change.get('patch_type', 'merge')} -p {shlex.quote(body)}")


def create(kind: str, namespace: str | None, body: dict[str, Any]) -> dict[str, Any]:
    name = str((body.get("metadata") or {}).get("name"))
    return {
        "op": "create",
        **_ident(kind, namespace, name),
        "body": body,
        "fields": [fmt_path(["spec"])] if "spec" in body else [],
        "access": [access("get", kind, namespace, name), access("create", kind, namespace)],
    }


def create_command(kind: str, body: dict[str, Any], api_version: str) -> str:
    from edgedoctor.remedy.gitops import to_yaml

    doc = {"apiVersion": api_version, "kind": kind, **body}
    return "kubectl apply -f - <<'EOF'\n" + to_yaml(doc) + "EOF"


def delete(obj: Obj) -> dict[str, Any]:
    kind, ns, name = str(obj.get("kind")), ns_of(obj) or None, name_of(obj)
    return {
        "op": "delete",
        **_ident(kind, ns, name),
        "body": None,
        "fields": [],
        # Only this object: one re-created under the same name (cert-manager's stable
        # CertificateRequest names) is another object and is left alone.
        "uid": meta(obj).get("uid"),
        # ... and only as the diagnosis saw it: the delete carries this resourceVersion as a
        # precondition, so a changed object (a Challenge that went valid meanwhile) is refused.
        "resource_version": meta(obj).get("resourceVersion"),
        "access": [access("get", kind, ns, name), access("delete", kind, ns, name)],
    }


def delete_command(obj: Obj) -> str:
    return f"kubectl {_ns_flag(ns_of(obj) or None)}delete {kubectl_kind(str(obj.get('kind')))} {shlex.quote(name_of(obj))}"


def set_condition(obj: Obj, condition: dict[str, Any]) -> dict[str, Any]:
    kind, ns, name = str(obj.get("kind")), ns_of(obj) or None, name_of(obj)
    ctype = condition["type"]
    return {
        "op": "update-status",
        **_ident(kind, ns, name),
        "subresource": "status",
        "body": {"conditions": [condition]},
        "fields": [fmt_path(["status", "conditions", {"type": ctype}])],
        "expect": [{"path": ["status", "conditions", {"type": ctype}, "status"], "equals": condition["status"]}],
        "uid": meta(obj).get("uid"),
        "access": [access("get", kind, ns, name), access("update", kind, ns, name, "status")],
    }


def manual(obj: Obj, fields: list[str], body: dict[str, Any]) -> dict[str, Any]:
    """A change edgedoctor shows but never makes (controller upgrades through Helm/Git)."""
    return {
        "op": "manual",
        "kind": str(obj.get("kind")),
        "namespace": ns_of(obj) or None,
        "name": name_of(obj),
        "body": body,
        "fields": fields,
        "access": [],
    }


def describe_change(change: dict[str, Any] | None) -> str:
    if not change:
        return ""
    ns = change.get("namespace")
    obj = f"{change['kind']} {ns + '/' if ns else ''}{change['name']}"
    fields = ", ".join(change.get("fields") or [])
    return f"{change['op']} {obj}" + (f": {fields}" if fields else "")
