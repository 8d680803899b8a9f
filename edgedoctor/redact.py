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
_SENSITIVE_FLAG = r"--?[A-Za-z0-9_-]*(?:token|secret|passw|api-key|apikey|api_key|credential|aes-key)[A-Za-z0-9_-]*"
_SENSITIVE_ARG = re.compile(rf"^({_SENSITIVE_FLAG}=)(.+)$", re.I)
_SENSITIVE_FLAG_ONLY = re.compile(rf"^{_SENSITIVE_FLAG}$", re.I)
# Inside a shell command line: `--api-token=X`, `--api-token X`, `CF_API_TOKEN=X`.
_IN_SHELL = re.compile(
    rf"({_SENSITIVE_FLAG})(=|\s+)(\S+)|\b([A-Za-z0-9_]*(?:TOKEN|SECRET|PASSW|API_KEY|CREDENTIAL)[A-Za-z0-9_]*=)(\S+)",
    re.I,
)
_DROP_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


def public_certificates(data: bytes) -> bytes:
    """Only the CERTIFICATE PEM blocks of `data`; a key pasted in tls.crt is dropped."""
    return b"\n".join(m.group(0) for m in _CERT_BLOCK.finditer(data))


def redact_secret(obj: dict[str, Any]) -> dict[str, Any]:
    # A hand-edited Secret may have any shape; whatever is not the expected map is dropped,
    # never copied through unread.
    meta = dict(_map(obj.get("metadata")))
    meta.pop("managedFields", None)
    annotations = {
        k: v
        for k, v in _map(meta.get("annotations")).items()
        if k not in _DROP_ANNOTATIONS
    }
    if annotations or "annotations" in meta:
        meta["annotations"] = annotations
    raw = obj.get("data") if isinstance(obj.get("data"), dict) else {}
    string_data = obj.get("stringData") if isinstance(obj.get("stringData"), dict) else {}
    # Idempotent: an already redacted Secret keeps the names of the keys it had.
    earlier = obj.get("keys") if obj.get("redacted") and isinstance(obj.get("keys"), list) else []
    keys = sorted(set(raw) | set(string_data) | {str(k) for k in earlier})
    kept: dict[str, str] = {}
    # Checked while the raw data is at hand, from the data only: the result says what is
    # wrong, never what the key is.
    check = obj.get("tls_key") if obj.get("redacted") else key_check(raw, string_data, obj.get("type"))
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
    if isinstance(check, dict):
        out["tls_key"] = check
    return out


def _data_bytes(raw: dict[str, Any], string_data: dict[str, Any], key: str) -> bytes | None:
    if isinstance(string_data.get(key), str):
        return string_data[key].encode()
    value = raw.get(key)
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        return b"\0"  # not base64: certainly not a usable key


def key_check(raw: dict[str, Any], string_data: dict[str, Any], secret_type: Any) -> dict[str, Any] | None:
    """Is tls.key present, a PEM private key, and the key of tls.crt's certificate?

    Envoy Gateway refuses a listener Secret without a usable pair ("must contain tls.crt and
    tls.key"). The key is parsed here, its public half compared with the certificate's, and
    dropped when this function returns: nothing of it is returned, logged or recorded.
    """
    has_cert = "tls.crt" in raw or "tls.crt" in string_data
    if secret_type != "kubernetes.io/tls" and not has_cert:
        return None  # not a certificate Secret (a token, a password): nothing to pair
    key = _data_bytes(raw, string_data, "tls.key")
    if key is None:
        return {"present": False, "problem": "no tls.key"}
    if not key.strip():
        return {"present": False, "problem": "tls.key is empty"}
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    try:
        private = serialization.load_pem_private_key(key, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # Not a format this reader parses (Envoy Gateway is the judge of those: its listener
        # condition says when it refuses one); only what is certain is called a problem.
        return {"present": True, "pem": False, "matches_certificate": None}
    finally:
        del key
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    key_public = private.public_key().public_bytes(der, spki)
    del private
    crt = _data_bytes(raw, string_data, "tls.crt") or b""
    blocks = list(_CERT_BLOCK.finditer(crt))
    if not blocks:
        return {"present": True, "pem": True, "matches_certificate": None}
    try:
        leaf = x509.load_pem_x509_certificate(blocks[0].group(0))
    except ValueError:
        return {"present": True, "pem": True, "matches_certificate": None}
    if leaf.public_key().public_bytes(der, spki) != key_public:
        return {"present": True, "pem": True, "matches_certificate": False,
                "problem": "tls.key is not the key of the certificate in tls.crt"}
    return {"present": True, "pem": True, "matches_certificate": True}


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
            c[field] = _redact_args(c[field])
    return c


def _redact_args(args: list[Any]) -> list[Any]:
    out: list[Any] = []
    hide_next = False
    for a in args:
        if not isinstance(a, str):
            out.append(a)
            hide_next = False
            continue
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        m = _SENSITIVE_ARG.match(a)
        if m:
            out.append(m.group(1) + REDACTED)
        elif _SENSITIVE_FLAG_ONLY.match(a):
            out.append(a)
            hide_next = True  # `--api-token VALUE`: the value is the next item
        else:
            out.append(_IN_SHELL.sub(_shell_sub, a))
    return out


def _shell_sub(m: re.Match[str]) -> str:
    if m.group(1):
        return f"{m.group(1)}{m.group(2)}{REDACTED}"
    return f"{m.group(4)}{REDACTED}"


def _map(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def redact_workload(obj: dict[str, Any]) -> dict[str, Any]:
    # A spec of the wrong shape is replaced by an empty one: it cannot be read anyway, and
    # copying it through unread could carry an env value past the redaction.
    out = dict(obj)
    spec = dict(_map(out.get("spec")))
    template = dict(_map(spec.get("template")))
    pod = dict(_map(template.get("spec")))
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
    if isinstance(meta, dict):
        ann = meta.get("annotations")
        # kubectl apply keeps the whole manifest (env values included) in an annotation.
        leaky = isinstance(ann, dict) and any(k in ann for k in _DROP_ANNOTATIONS)
        if "managedFields" in meta or leaky:
            obj = dict(obj)
            m = {k: v for k, v in meta.items() if k != "managedFields"}
            if leaky:
                m["annotations"] = {k: v for k, v in ann.items() if k not in _DROP_ANNOTATIONS}
            obj["metadata"] = m
    if kind in ("Deployment", "DaemonSet", "StatefulSet"):
        return redact_workload(obj)
    return obj


def scrub_text(text: str, secrets: list[str]) -> str:
    """Last line of defence for free text (error messages): drop known values."""
    for s in secrets:
        if s:
            text = text.replace(s, REDACTED)
    return text
