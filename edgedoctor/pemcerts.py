"""Certificate reading and chain verification over PEM text (pure: no network, no files).

Shared by the TLS probe (which verifies against the system store at probe time) and the
world analysis (which reads what the probe recorded, or verifies against --ca-bundle alone
when a hand-written recording carries no verdict).
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
from collections.abc import Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtensionOID, NameOID

from edgedoctor.timefmt import format_utc


def der_to_pem(der: bytes) -> str:
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM).decode()


def load_pems(text: str | Sequence[str] | None) -> list[x509.Certificate]:
    """All certificates in PEM text (or a list of PEM texts); unreadable blocks are skipped."""
    if not text:
        return []
    blocks: list[str] = []
    for chunk in [text] if isinstance(text, str) else list(text):
        parts = chunk.split("-----BEGIN CERTIFICATE-----")
        for part in parts[1:]:
            end = part.find("-----END CERTIFICATE-----")
            if end < 0:
                continue
            blocks.append("-----BEGIN CERTIFICATE-----" + part[: end] + "-----END CERTIFICATE-----\n")
    return [c for c in map(_load_block, blocks) if c is not None]


# A sweep meets the same few certificates (a wildcard served and stored for hundreds of
# hosts) again and again; certificates are immutable, so one parse and one summary each
# serve every host. Bounded, so a long-running `serve` does not grow with renewals.
@functools.lru_cache(maxsize=512)
def _load_block(block: str) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(block.encode())
    except ValueError:
        return None


def _utc(value: _dt.datetime) -> _dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)


def not_before(cert: x509.Certificate) -> _dt.datetime:
    return _utc(getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before)


def not_after(cert: x509.Certificate) -> _dt.datetime:
    return _utc(getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after)


def dns_sans(cert: x509.Certificate) -> list[str]:
    return list(_dns_sans(cert))


@functools.lru_cache(maxsize=512)
def _dns_sans(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except x509.ExtensionNotFound:
        return ()
    return tuple(str(n).lower() for n in ext.value.get_values_for_type(x509.DNSName))


def _attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else None


def summary(cert: x509.Certificate) -> dict[str, Any]:
    """The public facts a person compares: names, issuer, serial, validity, fingerprint."""
    facts = dict(_summary(cert))
    facts["sans"] = list(facts["sans"])  # the caller's own copy
    return facts


@functools.lru_cache(maxsize=512)
def _summary(cert: x509.Certificate) -> dict[str, Any]:
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "issuer_o": _attr(cert.issuer, NameOID.ORGANIZATION_NAME),
        "issuer_cn": _attr(cert.issuer, NameOID.COMMON_NAME),
        "serial": format(cert.serial_number, "x"),
        "sha256": hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest(),
        "not_before": format_utc(not_before(cert)),
        "not_after": format_utc(not_after(cert)),
        "sans": dns_sans(cert),
    }


def is_staging_issuer(cert: x509.Certificate) -> bool:
    o = _attr(cert.issuer, NameOID.ORGANIZATION_NAME) or ""
    cn = _attr(cert.issuer, NameOID.COMMON_NAME) or ""
    return "(STAGING)" in o or "(STAGING)" in cn


def to_alabel(name: str) -> str:
    name = name.strip().rstrip(".").lower()
    try:
        name.encode("ascii")
        return name
    except UnicodeEncodeError:
        pass
    labels = []
    for label in name.split("."):
        try:
            label.encode("ascii")
            labels.append(label)
        except UnicodeEncodeError:
            try:
                labels.append(label.encode("idna").decode("ascii"))
            except UnicodeError:
                labels.append(label)
    return ".".join(labels)


def name_covers(pattern: str, host: str) -> bool:
    """RFC 6125 §6.4.3: a `*` left-most label stands for exactly one label, nothing else."""
    pattern, host = to_alabel(pattern), to_alabel(host)
    if not pattern or not host:
        return False
    if pattern.startswith("*."):
        suffix = pattern[2:]
        head, dot, rest = host.partition(".")
        return bool(dot) and bool(head) and rest == suffix
    return pattern == host


def covering_sans(cert: x509.Certificate, host: str) -> list[str]:
    return [s for s in dns_sans(cert) if name_covers(s, host)]


def trust_store(roots: Sequence[x509.Certificate]) -> Any:
    """What `verify_chain` takes as `roots` when many chains are verified against the same
    roots: the verifier's store, built once (None when there is no root); an unusable root
    leaves the list itself, so that `verify_chain` reports the error as before."""
    from cryptography.x509 import verification as xv

    if not roots:
        return None
    try:
        return xv.Store(list(roots))
    except Exception:
        return list(roots)


def verify_chain(
    chain_pem: Sequence[str],
    host: str,
    roots: Any,
    now: _dt.datetime,
) -> dict[str, Any]:
    """Build a path from the served leaf to one of `roots` (hostname and time included).

    roots: a sequence of certificates, or what `trust_store` made of one (None: no root)."""
    from cryptography.x509 import verification as xv

    chain = load_pems(list(chain_pem))
    if not chain:
        return {"verified": False, "error": "no certificate was served"}
    if not roots:
        return {"verified": False, "error": "no trusted roots to verify against"}
    try:
        store = roots if isinstance(roots, xv.Store) else xv.Store(list(roots))
        builder = xv.PolicyBuilder().store(store).time(now.astimezone(_dt.timezone.utc).replace(tzinfo=None))
        verifier = builder.build_server_verifier(x509.DNSName(to_alabel(host)))
        path = verifier.verify(chain[0], chain[1:])
    except xv.VerificationError as e:
        return {"verified": False, "error": str(e)}
    except Exception as e:  # malformed input the verifier rejects outright
        return {"verified": False, "error": f"{type(e).__name__}: {e}"}
    return {"verified": True, "error": None, "path": [c.subject.rfc4514_string() for c in path]}
