"""A throw-away PKI generated at test time: a root, Let's Encrypt-like intermediates, leaves.

Keys live in memory and in the test's tmp dir only; nothing here is committed. Names copy the
real issuers' shapes (reference dns-acme.md §4.3) so the analysis sees what it would see in the
field: production `C=US, O=Let's Encrypt, CN=R11`, staging `(STAGING) Riddling Rhubarb R12`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

UTC = dt.timezone.utc


def _name(**attrs: str) -> x509.Name:
    oids = {"C": NameOID.COUNTRY_NAME, "O": NameOID.ORGANIZATION_NAME, "CN": NameOID.COMMON_NAME}
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in attrs.items()])


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


class TestCA:
    """Root + issuing intermediates; `leaf()` issues server certificates."""

    __test__ = False  # not a pytest test class

    def __init__(self, now: dt.datetime | None = None) -> None:
        self.now = now or dt.datetime.now(UTC)
        self.root_key = new_key()
        self.root = self._ca(_name(C="US", O="edgedoctor test", CN="edgedoctor Test Root X1"),
                             self.root_key, None, None, years=10)
        self.production = self.intermediate(_name(C="US", O="Let's Encrypt", CN="R11"))
        self.staging = self.intermediate(
            _name(C="US", O="(STAGING) Let's Encrypt", CN="(STAGING) Riddling Rhubarb R12")
        )

    @property
    def root_pem(self) -> str:
        return cert_pem(self.root)

    def _ca(
        self,
        subject: x509.Name,
        key: ec.EllipticCurvePrivateKey,
        issuer: x509.Certificate | None,
        issuer_key: ec.EllipticCurvePrivateKey | None,
        years: int,
    ) -> x509.Certificate:
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer.subject if issuer else subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.now - dt.timedelta(days=30))
            .not_valid_after(self.now + dt.timedelta(days=365 * years))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                    encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
        )
        if issuer is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key()), critical=False
            )
        return builder.sign(issuer_key or key, hashes.SHA256())

    def intermediate(self, subject: x509.Name) -> Issued:
        key = new_key()
        cert = self._ca(subject, key, self.root, self.root_key, years=3)
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
        import ipaddress

        issuer = issuer or self.production
        key = new_key()
        start = not_before or (self.now - dt.timedelta(days=1))
        end = not_after or (start + dt.timedelta(days=days))
        names: list[x509.GeneralName] = [x509.DNSName(s) for s in sans]
        names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_sans]
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(CN=sans[0]) if sans else _name(CN=str(ip_sans[0])))
            .issuer_name(issuer.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
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
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.cert.public_key()), critical=False
            )
            .sign(issuer.key, hashes.SHA256())
        )
        return Issued(cert, key, [issuer.cert])
