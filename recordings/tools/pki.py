"""A reproducible stand-in PKI for the incident library.

Real incidents carry certificates from Let's Encrypt (production and staging), from
Cloudflare's edge CA and from commercial CAs; the library needs certificates with those
issuer names, validity windows and SANs, served by a real TLS server, and the build must
give the same bytes every time. So every key here is derived from a label (ECDSA P-256,
private value = SHA-256 of the label) and every signature is deterministic (RFC 6979).

These keys are public by construction: anyone can derive them from this file. They sign
nothing but fictional certificates under fictional roots that no trust store holds, and
they are never written into the repository (the build writes them to a temporary
directory for nginx and deletes it). The recordings keep public certificates only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.servers.pki import Issued, cert_pem  # noqa: E402

SEED = "edgedoctor incident library v1"
_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)


def derived_key(label: str) -> ec.EllipticCurvePrivateKey:
    digest = hashlib.sha256(f"{SEED}/{label}".encode()).digest()
    value = int.from_bytes(digest, "big") % (_ORDER - 1) + 1
    return ec.derive_private_key(value, ec.SECP256R1())


def derived_serial(label: str, length: int = 18) -> int:
    # Let's Encrypt serials are 18 bytes, positive, high bit clear.
    digest = hashlib.sha256(f"{SEED}/serial/{label}".encode()).digest()[:length]
    return int.from_bytes(digest, "big") >> 1 | 1


def _name(attrs: list[tuple[str, str]]) -> x509.Name:
    oids = {"C": NameOID.COUNTRY_NAME, "O": NameOID.ORGANIZATION_NAME, "CN": NameOID.COMMON_NAME}
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in attrs])


def _utc(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, tzinfo=dt.timezone.utc)


# The fictional roots. Production-like issuers chain to the first, which the build hands to
# edgedoctor with --ca-bundle (as an engineer would pass a private CA); the staging root is
# trusted by nobody, exactly as Let's Encrypt's staging roots.
ROOTS = {
    "root": [("C", "US"), ("O", "edgedoctor test"), ("CN", "edgedoctor Incident Library Root X1")],
    "staging-root": [("C", "US"), ("O", "(STAGING) Internet Security Research Group"), ("CN", "(STAGING) Pretend Pear X1")],
}

# Issuing CAs with the subjects the real ones have (reference dns-acme.md §4.3, §5.1).
ISSUERS = {
    "le-ye1": ("root", [("C", "US"), ("O", "Let's Encrypt"), ("CN", "YE1")]),
    "le-yr2": ("root", [("C", "US"), ("O", "Let's Encrypt"), ("CN", "YR2")]),
    "le-e6": ("root", [("C", "US"), ("O", "Let's Encrypt"), ("CN", "E6")]),
    "le-r11": ("root", [("C", "US"), ("O", "Let's Encrypt"), ("CN", "R11")]),
    "le-staging-yr2": ("staging-root", [("C", "US"), ("O", "(STAGING) Let's Encrypt"), ("CN", "(STAGING) Ersatz Emmer YR2")]),
    "le-staging-r12": ("staging-root", [("C", "US"), ("O", "(STAGING) Let's Encrypt"), ("CN", "(STAGING) Riddling Rhubarb R12")]),
    "gts-we1": ("root", [("C", "US"), ("O", "Google Trust Services"), ("CN", "WE1")]),
    "sectigo-dv": ("root", [("C", "GB"), ("O", "Sectigo Limited"), ("CN", "Sectigo ECC Domain Validation Secure Server CA")]),
}


@dataclass
class PKI:
    """Roots and issuing CAs, built on first use; `leaf()` issues server certificates."""

    def __post_init__(self) -> None:
        self._roots: dict[str, Issued] = {}
        self._issuers: dict[str, Issued] = {}

    def _ca(self, label: str, subject: x509.Name, issuer: Issued | None) -> Issued:
        key = derived_key(f"ca/{label}")
        issuer_key = issuer.key if issuer else key
        issuer_name = issuer.cert.subject if issuer else subject
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(derived_serial(f"ca/{label}", 16))
            .not_valid_before(_utc(2024, 3, 13))
            .not_valid_after(_utc(2035, 3, 12) if issuer is None else _utc(2029, 3, 12))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                    encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        if issuer is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
            )
        cert = builder.sign(issuer_key, hashes.SHA256(), ecdsa_deterministic=True)
        return Issued(cert, key, [issuer.cert] if issuer else [])

    def root(self, label: str = "root") -> Issued:
        if label not in self._roots:
            self._roots[label] = self._ca(label, _name(ROOTS[label]), None)
        return self._roots[label]

    def root_pem(self, label: str = "root") -> str:
        return cert_pem(self.root(label).cert)

    def issuer(self, label: str) -> Issued:
        if label not in self._issuers:
            root_label, subject = ISSUERS[label]
            ca = self._ca(label, _name(subject), self.root(root_label))
            self._issuers[label] = Issued(ca.cert, ca.key, [])
        return self._issuers[label]

    def leaf(
        self,
        label: str,
        sans: list[str],
        *,
        issuer: str = "le-ye1",
        not_before: dt.datetime,
        days: int = 90,
    ) -> Issued:
        """A server certificate as the issuer would write it: CN = first SAN, 90 days default."""
        ca = self.issuer(issuer)
        key = derived_key(f"leaf/{label}")
        # Let's Encrypt backdates notBefore by an hour; the validity is exactly `days`.
        start = not_before
        end = start + dt.timedelta(days=days) - dt.timedelta(seconds=1)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name([("CN", sans[0])]))
            .issuer_name(ca.cert.subject)
            .public_key(key.public_key())
            .serial_number(derived_serial(f"leaf/{label}"))
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                    encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
            .sign(ca.key, hashes.SHA256(), ecdsa_deterministic=True)
        )
        return Issued(cert, key, [ca.cert])


def fullchain_pem(issued: Issued) -> str:
    return issued.fullchain_pem


def key_pem_text(key: ec.EllipticCurvePrivateKey) -> str:
    """PEM of a derived key, for the objects the build hands to edgedoctor (which keeps only
    whether it matches the certificate); never written to the library."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def csr_b64(issued: Issued, sans: list[str]) -> str:
    """The CSR cert-manager would have sent for this certificate (public), base64 as in the CR."""
    return csr_b64_of_key(issued.key, sans)


def csr_b64_of_key(key: ec.EllipticCurvePrivateKey, sans: list[str]) -> str:
    """A CSR for `sans` signed by `key` (public), base64 of its PEM."""
    import base64

    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
        .sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    )
    return base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode("ascii")
