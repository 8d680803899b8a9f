"""Read the public facts of an X.509 certificate (never a key)."""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from datetime import datetime
from typing import Any

from edgedoctor.timefmt import format_utc, parse_rfc3339

_PEM = re.compile(r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----")


def split_pem(text: str) -> list[str]:
    return [m.group(0) for m in _PEM.finditer(text or "")]


def secret_chain_pem(secret: dict[str, Any]) -> str | None:
    data = secret.get("data") if isinstance(secret.get("data"), dict) else {}
    raw = data.get("tls.crt")
    if not isinstance(raw, str) or not raw:
        return None
    try:
        text = base64.b64decode(raw).decode("ascii", "replace")
    except (ValueError, TypeError):
        return None
    pems = split_pem(text)
    return "\n".join(pems) if pems else None


def _name(n: Any) -> dict[str, str]:
    from cryptography.x509.oid import NameOID

    out = {}
    for key, oid in (("C", NameOID.COUNTRY_NAME), ("O", NameOID.ORGANIZATION_NAME), ("CN", NameOID.COMMON_NAME)):
        attrs = n.get_attributes_for_oid(oid)
        if attrs:
            out[key] = str(attrs[0].value)
    return out


def cert_info(pem: str) -> dict[str, Any]:
    """Plain facts of one PEM certificate; raises ValueError when it is not one."""
    info = dict(_cert_info(pem))
    info["sans"] = list(info["sans"])  # the caller's own copy
    info["subject"], info["issuer"] = dict(info["subject"]), dict(info["issuer"])
    return info


# Content-keyed: the same stored certificate (a wildcard's Secret) is read for every host of
# a sweep. An unreadable one raises each time (lru_cache keeps no exceptions).
@functools.lru_cache(maxsize=512)
def _cert_info(pem: str) -> dict[str, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    try:
        san_ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        sans = [str(s) for s in san_ext.value.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        sans = []
    der = cert.public_bytes(serialization.Encoding.DER)
    issuer = _name(cert.issuer)
    subject = _name(cert.subject)
    nb = cert.not_valid_before_utc
    na = cert.not_valid_after_utc
    return {
        "subject": subject,
        "issuer": issuer,
        "issuer_text": ", ".join(f"{k}={v}" for k, v in issuer.items()),
        "sans": [s.lower() for s in sans],
        "serial": format(cert.serial_number, "x"),
        "sha256": hashlib.sha256(der).hexdigest(),
        "not_before": format_utc(nb),
        "not_after": format_utc(na),
        "staging": is_staging(issuer),
    }


def is_staging(issuer: dict[str, str]) -> bool:
    return any("(STAGING)" in v.upper() for v in issuer.values())


def seconds_left(info: dict[str, Any], now: datetime) -> float:
    na = parse_rfc3339(info["not_after"])
    if na is None:
        raise ValueError(f"not an RFC 3339 time: {info['not_after']!r}")
    return (na - now).total_seconds()
