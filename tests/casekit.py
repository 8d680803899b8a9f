"""Build snapshot files for a case: the healthy base cluster plus a case's edits.

A case file (tests/cases/*.yaml) holds one root cause and its healthy twin:

    code: cert-secret-name-mismatch
    host: app.example.com            # optional, default app.example.com
    broken: {set: [...], delete: [...], patch: [...]}
    expect: {verdict: critical, root_cause: cert-secret-name-mismatch}
    twin:                           # optional edits for the twin (default: the base)
      edits: {set: [...], ...}
      expect: {verdict: ok}

`set` adds or replaces whole objects (by kind, namespace, name), `delete` removes
them, `patch` deep-merges a mapping into one (lists are replaced).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent
BASE = ROOT / "snapshots" / "base"
CASES = ROOT / "cases"
NOW = "2026-12-02T03:00:00Z"


def _key(o: dict[str, Any]) -> tuple[str, str, str]:
    m = o.get("metadata") or {}
    return (str(o.get("kind")), str(m.get("namespace") or ""), str(m.get("name")))


def base_objects() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in sorted(BASE.glob("*.yaml")):
        for doc in yaml.safe_load_all(f.read_text()):
            if not doc:
                continue
            if doc.get("kind") == "List":
                out.extend(doc["items"])
            else:
                out.append(doc)
    return out


def merge(dst: Any, src: Any) -> Any:
    if isinstance(dst, dict) and isinstance(src, dict):
        out = dict(dst)
        for k, v in src.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = merge(dst.get(k), v)
        return out
    return copy.deepcopy(src)


CERTS = ROOT / "snapshots" / "certs"


def _subst(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("@") and value.endswith("@") and len(value) > 2:
        return (CERTS / f"{value[1:-1].lower()}.b64").read_text().strip()
    if isinstance(value, dict):
        return {k: _subst(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_subst(v) for v in value]
    return value


def apply_edits(objects: list[dict[str, Any]], edits: dict[str, Any] | None) -> list[dict[str, Any]]:
    objs = {_key(o): copy.deepcopy(o) for o in objects}
    edits = edits or {}
    for d in edits.get("delete") or []:
        objs.pop((d["kind"], d.get("namespace", ""), d["name"]), None)
    for o in edits.get("set") or []:
        objs[_key(o)] = copy.deepcopy(o)
    for p in edits.get("patch") or []:
        k = (p["kind"], p.get("namespace", ""), p["name"])
        objs[k] = merge(objs[k], p["merge"])
    return [_subst(o) for o in objs.values()]


def write_snapshot(objects: list[dict[str, Any]], path: Path) -> Path:
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": objects}, sort_keys=False))
    return path


def load_cases() -> list[dict[str, Any]]:
    cases = []
    for f in sorted(CASES.glob("*.yaml")):
        for i, doc in enumerate(yaml.safe_load_all(f.read_text())):
            if doc:
                doc.setdefault("name", doc.get("code") or f"{f.stem}#{i}")
                cases.append(doc)
    return cases


def _stuck_issuance(opts: dict[str, Any]) -> dict[str, Any]:
    """Edits that turn the base into a first issuance that never finished.

    The Secret does not exist, the listener says so in the Envoy Gateway format
    of `eg_format` ("v1.3" or "v1.7"), and the Certificate's chain carries the
    given states and messages.
    """
    created = opts.get("created", "2026-12-02T01:00:00Z")
    eg = opts.get("eg_format", "v1.3")
    secret_msg = (
        "Secret gateway/wildcard-example-com-tls does not exist."
        if eg == "v1.3"
        else "No valid secrets exist: certificate refs 0: Secret gateway/wildcard-example-com-tls does not exist."
    )
    ns = "gateway"
    cert_uid = "3e4f5a6b-0000-4000-8000-0000000000c1"
    cr_uid = "3e4f5a6b-0000-4000-8000-00000000aa01"
    order_uid = "3e4f5a6b-0000-4000-8000-00000000bb01"
    objs: list[dict[str, Any]] = []
    cr = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "CertificateRequest",
        "metadata": {
            "name": "wildcard-example-com-1", "namespace": ns, "uid": cr_uid, "creationTimestamp": created,
            "annotations": {"cert-manager.io/certificate-name": "wildcard-example-com",
                            "cert-manager.io/certificate-revision": "1"},
            "ownerReferences": [{"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                                 "name": "wildcard-example-com", "uid": cert_uid, "controller": True}],
        },
        "spec": {"issuerRef": {"name": opts.get("issuer", "letsencrypt-prod"), "kind": "ClusterIssuer", "group": "cert-manager.io"}},
        "status": {"conditions": [
            {"type": "Approved", "status": "True", "reason": "cert-manager.io", "message": "Certificate request has been approved by cert-manager.io"},
            {"type": "Ready", "status": "False", "reason": opts.get("cr_reason", "Pending"),
             "message": opts.get("cr_message", 'Waiting on certificate issuance from order gateway/wildcard-example-com-1-2264498345: "pending"')},
        ]},
    }
    objs.append(cr)
    if opts.get("order", True):
        order = {
            "apiVersion": "acme.cert-manager.io/v1",
            "kind": "Order",
            "metadata": {
                "name": "wildcard-example-com-1-2264498345", "namespace": ns, "uid": order_uid, "creationTimestamp": created,
                "annotations": {"cert-manager.io/certificate-name": "wildcard-example-com", "cert-manager.io/certificate-revision": "1"},
                "ownerReferences": [{"apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest",
                                     "name": "wildcard-example-com-1", "uid": cr_uid, "controller": True}],
            },
            "spec": {"dnsNames": ["*.example.com", "example.com"],
                     "issuerRef": {"name": opts.get("issuer", "letsencrypt-prod"), "kind": "ClusterIssuer", "group": "cert-manager.io"}},
            "status": {"state": opts.get("order_state", "pending"),
                       "url": "https://acme-v02.api.letsencrypt.org/acme/order/2049178856/371999"},
        }
        if opts.get("order_reason"):
            order["status"]["reason"] = opts["order_reason"]
        objs.append(order)
        for i, (dns_name, wildcard) in enumerate((("example.com", True), ("example.com", False))):
            if i >= opts.get("challenges", 2):
                break
            st = {"presented": True, "processing": True, "state": opts.get("challenge_state", "pending")}
            reason = opts.get("challenge_reason") if i == 0 else opts.get("second_reason", opts.get("challenge_reason"))
            if reason:
                st["reason"] = reason
            objs.append({
                "apiVersion": "acme.cert-manager.io/v1",
                "kind": "Challenge",
                "metadata": {
                    "name": f"wildcard-example-com-1-2264498345-{1850000000 + i}", "namespace": ns,
                    "uid": f"3e4f5a6b-0000-4000-8000-00000000cc0{i}", "creationTimestamp": created,
                    "finalizers": ["acme.cert-manager.io/finalizer"],
                    "ownerReferences": [{"apiVersion": "acme.cert-manager.io/v1", "kind": "Order",
                                         "name": "wildcard-example-com-1-2264498345", "uid": order_uid, "controller": True}],
                },
                "spec": {"dnsName": dns_name, "wildcard": wildcard, "type": "DNS-01", "key": f"fakeTxtValue{i}",
                         "token": f"tok{i}", "url": f"https://acme-v02.api.letsencrypt.org/acme/chall/x{i}",
                         "authorizationURL": f"https://acme-v02.api.letsencrypt.org/acme/authz/x{i}",
                         "solver": {"dns01": {"cloudflare": {"apiTokenSecretRef": {"name": "cloudflare-api-token", "key": "api-token"}}}},
                         "issuerRef": {"name": opts.get("issuer", "letsencrypt-prod"), "kind": "ClusterIssuer", "group": "cert-manager.io"}},
                "status": st,
            })
    cert_patch = {
        "status": {
            "conditions": [
                {"type": "Ready", "status": "False", "reason": "DoesNotExist", "message": "Issuing certificate as Secret does not exist"},
                {"type": "Issuing", "status": "True", "reason": "DoesNotExist", "message": "Issuing certificate as Secret does not exist"},
            ],
            "notBefore": None, "notAfter": None, "renewalTime": None, "revision": None,
        }
    }
    listener_status = [
        {"type": "Programmed", "status": "False", "reason": "Invalid", "message": "Listener is invalid, see other Conditions for details."},
        {"type": "Accepted", "status": "True", "reason": "Accepted", "message": "Listener has been successfully translated"},
        {"type": "ResolvedRefs", "status": "False", "reason": "InvalidCertificateRef", "message": secret_msg},
    ]
    return {
        "delete": [
            {"kind": "Secret", "namespace": ns, "name": "wildcard-example-com-tls"},
            {"kind": "CertificateRequest", "namespace": ns, "name": "wildcard-example-com-2"},
            {"kind": "Order", "namespace": ns, "name": "wildcard-example-com-2-1803547219"},
        ],
        "set": objs,
        "patch": [
            {"kind": "Certificate", "namespace": ns, "name": "wildcard-example-com", "merge": cert_patch},
            {"kind": "Gateway", "namespace": ns, "name": "external", "merge": {"status": {"listeners": [
                {"name": "http", "attachedRoutes": 1, "conditions": [
                    {"type": "Programmed", "status": "True", "reason": "Programmed", "message": "Sending translated listener configuration to the data plane"},
                    {"type": "Accepted", "status": "True", "reason": "Accepted", "message": "Listener has been successfully translated"},
                    {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs", "message": "Listener has been successfully translated"}]},
                {"name": "https", "attachedRoutes": 2, "conditions": listener_status},
            ]}}},
        ],
    }


def expand(edits: dict[str, Any] | None) -> dict[str, Any]:
    """Resolve the `stuck_issuance` shorthand into plain set/delete/patch edits."""
    edits = dict(edits or {})
    stuck = edits.pop("stuck_issuance", None)
    if stuck is None:
        return edits
    base = _stuck_issuance(stuck if isinstance(stuck, dict) else {})
    return {
        "delete": base["delete"] + list(edits.get("delete") or []),
        "set": base["set"] + list(edits.get("set") or []),
        "patch": base["patch"] + list(edits.get("patch") or []),
    }


def _csr_b64(dns_names: list[str]) -> str:
    """A real PKCS#10 request for these names, base64 (what cert-manager puts in spec.request)."""
    import base64

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName(n) for n in dns_names] or [x509.DNSName("example.com")]
    csr = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
           .add_extension(x509.SubjectAlternativeName(names), critical=False).sign(key, hashes.SHA256()))
    return base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()


def _conditions(node: Any) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "conditions" and isinstance(v, list):
                for c in v:
                    if isinstance(c, dict) and "type" in c and "status" in c:
                        c.setdefault("lastTransitionTime", NOW)
                        c.setdefault("reason", c["type"])
                        c.setdefault("message", "")
            _conditions(v)
    elif isinstance(node, list):
        for v in node:
            _conditions(v)


def server_objects(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The hand-written base and edits as a real API server holds them.

    The cases leave out what no diagnosis reads but a real server requires, which a
    cluster's controllers and clients always fill in: a condition's lastTransitionTime
    (reason, message), a Deployment's selector (kubectl and Helm charts set it from the
    Pod labels), an Order's and CertificateRequest's spec.request (the CSR cert-manager
    made). Only missing fields are added; nothing present is changed.
    """
    out = copy.deepcopy(objects)
    for o in out:
        kind = o.get("kind")
        _conditions(o.get("status"))
        spec = o.get("spec")
        if kind == "Deployment" and isinstance(spec, dict):
            tmpl = spec.setdefault("template", {})
            labels = tmpl.setdefault("metadata", {}).setdefault("labels", {})
            if not labels:
                labels["app"] = o["metadata"]["name"]
            spec.setdefault("selector", {"matchLabels": dict(labels)})
        if kind in ("Order", "CertificateRequest") and isinstance(spec, dict) and not spec.get("request"):
            spec["request"] = _csr_b64([str(n) for n in spec.get("dnsNames") or []])
    return out
