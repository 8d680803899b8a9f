"""The one PKI helper of the tests and of the incident library's build.

Two PKIs on the same certificate builders (`build_ca`, `build_leaf`):

- `TestCA`, thrown away after each test: random keys and serials, validity around now. Keys
  live in memory and in the test's tmp dir only; nothing of it is committed.
- `PKI`, reproducible for the incident library (recordings/tools/build.py): every key is
  derived from a label (ECDSA P-256, private value = SHA-256 of the label), every serial
  too, every signature is deterministic (RFC 6979), so a build gives the same bytes every
  time. These keys are public by construction: anyone can derive them from this file. They
  sign nothing but fictional certificates under fictional roots no trust store holds, and
  are never written into the repository (the build writes them to a temporary directory
  for nginx and deletes it); the recordings keep public certificates only.

Names copy the real issuers' shapes so the analysis sees what it would see in the field:
production `C=US, O=Let's Encrypt, CN=R11`, staging `(STAGING) Riddling Rhubarb R12`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

UTC = dt.timezone.utc


_OIDS = {"C": NameOID.COUNTRY_NAME, "O": NameOID.ORGANIZATION_NAME, "CN": NameOID.COMMON_NAME}


def name_of(attrs: list[tuple[str, str]]) -> x509.Name:
    return x509.Name([x509.NameAttribute(_OIDS[k], v) for k, v in attrs])


def _name(**attrs: str) -> x509.Name:
    return name_of(list(attrs.items()))


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@dataclass
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    chain: list[x509.Certificate]  # issuers above the leaf, closest first (no root)

    @property
    def pem(self) -> str:
        return cert_pem(self.cert)

    @property
    def fullchain_pem(self) -> str:
        return "".join(cert_pem(c) for c in [self.cert, *self.chain])

    @property
    def key_pem(self) -> str:
        return key_pem(self.key)

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """fullchain and key files for a server; the key file is 0600 in a tmp dir."""
        directory.mkdir(parents=True, exist_ok=True)
        crt, key = directory / f"{stem}.crt", directory / f"{stem}.key"
        crt.write_text(self.fullchain_pem)
        key.write_text(self.key_pem)
        key.chmod(0o600)
        return crt, key


_CA_USAGE = x509.KeyUsage(
    digital_signature=True, content_commitment=False, key_encipherment=False,
    data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
    encipher_only=False, decipher_only=False,
)
_LEAF_USAGE = x509.KeyUsage(
    digital_signature=True, content_commitment=False, key_encipherment=False,
    data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
    encipher_only=False, decipher_only=False,
)


def build_ca(subject: x509.Name, key: ec.EllipticCurvePrivateKey, issuer: Issued | None, *, serial: int,
             not_before: dt.datetime, not_after: dt.datetime, deterministic: bool = False) -> x509.Certificate:
    """A CA certificate: a root when `issuer` is None, else an intermediate (path length 0)."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), critical=True)
        .add_extension(_CA_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    return builder.sign(issuer.key if issuer else key, hashes.SHA256(), ecdsa_deterministic=deterministic)


def build_leaf(subject: x509.Name, names: list[x509.GeneralName], key: ec.EllipticCurvePrivateKey, issuer: Issued, *,
               serial: int, not_before: dt.datetime, not_after: dt.datetime,
               deterministic: bool = False) -> x509.Certificate:
    """A TLS server certificate as an ACME CA writes it."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_LEAF_USAGE, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False)
        .sign(issuer.key, hashes.SHA256(), ecdsa_deterministic=deterministic)
    )


class TestCA:
    """Root + issuing intermediates; `leaf()` issues server certificates."""

    __test__ = False  # not a pytest test class

    def __init__(self, now: dt.datetime | None = None) -> None:
        self.now = now or dt.datetime.now(UTC)
        self.root_key = new_key()
        self.root = self._ca(_name(C="US", O="edgedoctor test", CN="edgedoctor Test Root X1"),
                             self.root_key, None, years=10)
        self.production = self.intermediate(_name(C="US", O="Let's Encrypt", CN="R11"))
        self.staging = self.intermediate(
            _name(C="US", O="(STAGING) Let's Encrypt", CN="(STAGING) Riddling Rhubarb R12")
        )

    @property
    def root_pem(self) -> str:
        return cert_pem(self.root)

    def _ca(self, subject: x509.Name, key: ec.EllipticCurvePrivateKey, issuer: Issued | None,
            years: int) -> x509.Certificate:
        return build_ca(subject, key, issuer, serial=x509.random_serial_number(),
                        not_before=self.now - dt.timedelta(days=30),
                        not_after=self.now + dt.timedelta(days=365 * years))

    def intermediate(self, subject: x509.Name) -> Issued:
        key = new_key()
        cert = self._ca(subject, key, Issued(self.root, self.root_key, []), years=3)
        return Issued(cert, key, [])

    def leaf(
        self,
        sans: list[str],
        *,
        issuer: Issued | None = None,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        days: int = 90,
        ip_sans: list[str] = (),
    ) -> Issued:
        issuer = issuer or self.production
        key = new_key()
        start = not_before or (self.now - dt.timedelta(days=1))
        end = not_after or (start + dt.timedelta(days=days))
        names: list[x509.GeneralName] = [x509.DNSName(s) for s in sans]
        names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_sans]
        subject = _name(CN=sans[0]) if sans else _name(CN=str(ip_sans[0]))
        cert = build_leaf(subject, names, key, issuer, serial=x509.random_serial_number(),
                          not_before=start, not_after=end)
        return Issued(cert, key, [issuer.cert])


# ---------------------------------------------------------------- the incident library

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


def _utc(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, tzinfo=dt.timezone.utc)


# The fictional roots. Production-like issuers chain to the first, which the build hands to
# edgedoctor with --ca-bundle (as an engineer would pass a private CA); the staging root is
# trusted by nobody, exactly as Let's Encrypt's staging roots.
ROOTS = {
    "root": [("C", "US"), ("O", "edgedoctor test"), ("CN", "edgedoctor Incident Library Root X1")],
    "staging-root": [("C", "US"), ("O", "(STAGING) Internet Security Research Group"), ("CN", "(STAGING) Pretend Pear X1")],
}

# Issuing CAs with the subjects the real ones have.
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
        cert = build_ca(subject, key, issuer, serial=derived_serial(f"ca/{label}", 16),
                        not_before=_utc(2024, 3, 13),
                        not_after=_utc(2035, 3, 12) if issuer is None else _utc(2029, 3, 12), deterministic=True)
        return Issued(cert, key, [issuer.cert] if issuer else [])

    def root(self, label: str = "root") -> Issued:
        if label not in self._roots:
            self._roots[label] = self._ca(label, name_of(ROOTS[label]), None)
        return self._roots[label]

    def root_pem(self, label: str = "root") -> str:
        return cert_pem(self.root(label).cert)

    def issuer(self, label: str) -> Issued:
        if label not in self._issuers:
            root_label, subject = ISSUERS[label]
            ca = self._ca(label, name_of(subject), self.root(root_label))
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
        cert = build_leaf(name_of([("CN", sans[0])]), [x509.DNSName(s) for s in sans], key, ca,
                          serial=derived_serial(f"leaf/{label}"), not_before=start, not_after=end, deterministic=True)
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
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
        .sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    )
    return base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode("ascii")
