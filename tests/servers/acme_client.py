"""A minimal RFC 8555 client (ES256 JWS over httpx) for driving pebble in tests.

Just the steps cert-manager takes for one DNS-01 order: account, order, authorization,
challenge response, polling, finalize, certificate download. Not for use outside tests.
"""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
import time
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class AcmeError(RuntimeError):
    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status, self.problem = status, problem
        super().__init__(f"ACME {status}: {problem.get('type')}: {problem.get('detail')}")


@dataclass
class DnsChallenge:
    authorization_url: str
    url: str
    token: str
    identifier: str
    wildcard: bool
    txt_value: str  # what goes into _acme-challenge.<identifier>

    @property
    def record_name(self) -> str:
        return f"_acme-challenge.{self.identifier}."


class AcmeClient:
    def __init__(self, directory_url: str, ca_file: str) -> None:
        self.http = httpx.Client(verify=ssl.create_default_context(cafile=ca_file), trust_env=False, timeout=10)
        self.directory = self.http.get(directory_url).json()
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.kid: str | None = None
        self._nonce: str | None = None

    def close(self) -> None:
        self.http.close()

    # JWS ---------------------------------------------------------------
    def jwk(self) -> dict[str, str]:
        numbers = self.key.public_key().public_numbers()
        return {
            "crv": "P-256",
            "kty": "EC",
            "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big")),
        }

    def thumbprint(self) -> str:
        canonical = json.dumps(self.jwk(), sort_keys=True, separators=(",", ":")).encode()
        return b64url(hashlib.sha256(canonical).digest())

    def _new_nonce(self) -> str:
        if self._nonce:
            nonce, self._nonce = self._nonce, None
            return nonce
        return self.http.head(self.directory["newNonce"]).headers["Replay-Nonce"]

    def post(self, url: str, payload: dict[str, Any] | None) -> httpx.Response:
        """POST a JWS; payload None is POST-as-GET."""
        for _ in range(3):
            protected: dict[str, Any] = {"alg": "ES256", "nonce": self._new_nonce(), "url": url}
            if self.kid:
                protected["kid"] = self.kid
            else:
                protected["jwk"] = self.jwk()
            p64 = b64url(json.dumps(protected).encode())
            body64 = "" if payload is None else b64url(json.dumps(payload).encode())
            der = self.key.sign(f"{p64}.{body64}".encode(), ec.ECDSA(hashes.SHA256()))
            r, s = decode_dss_signature(der)
            sig = b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
            response = self.http.post(
                url,
                content=json.dumps({"protected": p64, "payload": body64, "signature": sig}),
                headers={"Content-Type": "application/jose+json"},
            )
            self._nonce = response.headers.get("Replay-Nonce")
            if response.status_code < 400:
                return response
            problem = _problem(response)
            if problem.get("type") == "urn:ietf:params:acme:error:badNonce":
                continue
            raise AcmeError(response.status_code, problem)
        raise AcmeError(400, {"type": "badNonce", "detail": "three bad nonces in a row"})

    # Protocol ----------------------------------------------------------
    def register(self) -> str:
        response = self.post(self.directory["newAccount"], {"termsOfServiceAgreed": True})
        self.kid = response.headers["Location"]
        return self.kid

    def new_order(self, names: list[str]) -> tuple[str, dict[str, Any]]:
        response = self.post(
            self.directory["newOrder"],
            {"identifiers": [{"type": "dns", "value": n} for n in names]},
        )
        return response.headers["Location"], response.json()

    def get(self, url: str) -> dict[str, Any]:
        return self.post(url, None).json()

    def dns_challenges(self, order: dict[str, Any]) -> list[DnsChallenge]:
        out = []
        for authz_url in order["authorizations"]:
            authz = self.get(authz_url)
            chall = next(c for c in authz["challenges"] if c["type"] == "dns-01")
            key_auth = f"{chall['token']}.{self.thumbprint()}"
            out.append(
                DnsChallenge(
                    authorization_url=authz_url,
                    url=chall["url"],
                    token=chall["token"],
                    identifier=authz["identifier"]["value"],
                    wildcard=bool(authz.get("wildcard")),
                    txt_value=b64url(hashlib.sha256(key_auth.encode()).digest()),
                )
            )
        return out

    def respond(self, challenge: DnsChallenge) -> dict[str, Any]:
        return self.post(challenge.url, {}).json()

    def poll(self, url: str, until: tuple[str, ...], timeout: float = 20.0) -> dict[str, Any]:
        end = time.monotonic() + timeout
        while True:
            obj = self.get(url)
            if obj.get("status") in until or time.monotonic() > end:
                return obj
            time.sleep(0.1)

    def finalize(self, order_url: str, order: dict[str, Any], names: list[str]) -> tuple[dict[str, Any], str]:
        """Send a CSR for `names`; returns the final order and the issued chain (PEM)."""
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .sign(key, hashes.SHA256())
        )
        self.post(order["finalize"], {"csr": b64url(csr.public_bytes(serialization.Encoding.DER))})
        final = self.poll(order_url, ("valid", "invalid"))
        pem = self.post(final["certificate"], None).text if final.get("certificate") else ""
        return final, pem


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
        return data if isinstance(data, dict) else {"detail": str(data)}
    except ValueError:
        return {"detail": response.text[:200]}
