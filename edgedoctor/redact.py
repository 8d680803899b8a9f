"""Keep secret material out of evidence, output and recordings.

Applied to every object as it enters the evidence (live, snapshot or replay),
so nothing downstream ever holds a private key, a token or a password.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

REDACTED = "<redacted>"

# Only these Secret keys may carry public certificates; everything else is dropped.
_PUBLIC_CERT_KEYS = ("tls.crt", "ca.crt")
_CERT_BLOCK = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----"
)
_SENSITIVE_NAME = re.compile(r"(token|secret|passw|private|api[-_]?key|credential|auth)", re.I)
_SENSITIVE_ARG = re.compile(
    r"^(--?[A-Za-z0-9-]*(token|secret|passw|api-key|apikey|credential|aes-key)[A-Za-z0-9-]*=)(.+)$",
    re.I,
)
_DROP_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


def public_certificates(data: bytes) -> bytes:
    """Only the CERTIFICATE PEM blocks of `data`; a key pasted in tls.crt is dropped."""
    return b"\n".join(m.group(0) for m in _CERT_BLOCK.finditer(data))


def redact_secret(obj: dict[str, Any]) -> dict[str, Any]:
    meta = dict(obj.get("metadata") or {})
    meta.pop("managedFields", None)
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if k not in _DROP_ANNOTATIONS
    }
    if annotations or "annotations" in meta:
        meta["annotations"] = annotations
    raw = obj.get("data") if isinstance(obj.get("data"), dict) else {}
    string_data = obj.get("stringData") if isinstance(obj.get("stringData"), dict) else {}
    keys = sorted(set(raw) | set(string_data))
    kept: dict[str, str] = {}
    for key in _PUBLIC_CERT_KEYS:
        value = raw.get(key)
        if not isinstance(value, str):
            continue
        try:
            decoded = base64.b64decode(value, validate=False)
        except (binascii.Error, ValueError):
            continue
        certs = public_certificates(decoded)
        if certs:
            kept[key] = base64.b64encode(certs).decode("ascii")
    out: dict[str, Any] = {
        "apiVersion": obj.get("apiVersion", "v1"),
        "kind": "Secret",
        "metadata": meta,
        "type": obj.get("type"),
        "data": kept,
        # "exists, with keys [...]": what a person needs, without the values.
        "keys": keys,
        "redacted": True,
    }
    return out


def _redact_container(container: dict[str, Any]) -> dict[str, Any]:
    c = dict(container)
    env = []
    for var in c.get("env") or []:
        if not isinstance(var, dict):
            continue
        v = dict(var)
        if "value" in v and _SENSITIVE_NAME.search(str(v.get("name", ""))):
            v["value"] = REDACTED
        env.append(v)
    if "env" in c:
        c["env"] = env
    for field in ("args", "command"):
        if isinstance(c.get(field), list):
            c[field] = [_redact_arg(a) for a in c[field]]
    return c


def _redact_arg(arg: Any) -> Any:
    if not isinstance(arg, str):
        return arg
    m = _SENSITIVE_ARG.match(arg)
    return m.group(1) + REDACTED if m else arg


def redact_workload(obj: dict[str, Any]) -> dict[str, Any]:
    out = dict(obj)
    spec = dict(out.get("spec") or {})
    template = dict(spec.get("template") or {})
    pod = dict(template.get("spec") or {})
    for field in ("containers", "initContainers"):
        if isinstance(pod.get(field), list):
            pod[field] = [_redact_container(c) for c in pod[field] if isinstance(c, dict)]
    template["spec"] = pod
    spec["template"] = template
    out["spec"] = spec
    return out


def redact_object(obj: dict[str, Any]) -> dict[str, Any]:
    kind = obj.get("kind")
    if kind == "Secret":
        return redact_secret(obj)
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        obj = dict(obj)
        obj["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
    if kind in ("Deployment", "DaemonSet", "StatefulSet"):
        return redact_workload(obj)
    return obj


def scrub_text(text: str, secrets: list[str]) -> str:
    """Last line of defence for free text (error messages): drop known values."""
    for s in secrets:
        if s:
            text = text.replace(s, REDACTED)
    return text
