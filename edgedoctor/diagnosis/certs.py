"""The certificate side: listener Secret -> Certificate -> CertificateRequest ->
Order -> Challenge, walked by owner references as cmctl does, with the failure
detail taken from the deepest object that has one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edgedoctor.certinfo import secret_chain_pem
from edgedoctor.diagnosis import commands as cmd
from edgedoctor.diagnosis.certchain import CHAIN_NODES, skip_chain, walk_chain
from edgedoctor.diagnosis.context import Ctx, Listener
from edgedoctor.diagnosis.hostnames import gw_matches
from edgedoctor.diagnosis.index import (
    Obj,
    as_dict,
    as_list,
    condition,
    name_of,
    ns_of,
    spec,
    status,
)
from edgedoctor.diagnosis.routing import grant_allows
from edgedoctor.diagnosis.storedcert import stored_certificate
from edgedoctor.timefmt import parse_rfc3339


def diagnose_certificates(ctx: Ctx) -> None:
    """The listener's Secret, the Certificate that writes it and that Certificate's chain."""
    ls = ctx.listener
    if ls is None:
        skip_chain(ctx, "no listener for the host", CHAIN_NODES + ("secret",))
        return
    tls = as_dict(ls.spec.get("tls"))
    if ls.protocol == "TLS" and (tls.get("mode") == "Passthrough"):
        skip_chain(ctx, "TLS passthrough: the backend terminates TLS", CHAIN_NODES + ("secret",))
        return
    refs = [r for r in as_list(tls.get("certificateRefs")) if isinstance(r, dict)]
    if not refs:
        ctx.set_node("secret", "fail", f"listener {ls.name} has no certificateRefs")
        skip_chain(ctx, "the listener names no certificate")
        return
    sns = str(refs[0].get("namespace") or ns_of(ls.gateway))
    sname = str(refs[0].get("name") or "")
    ctx.secret_ref = (sns, sname)
    rr = _ResolvedRefs(condition((ls.status or {}).get("conditions"), "ResolvedRefs"))
    secret = ctx.idx.get("Secret", sns, sname)
    ctx.secret = secret
    if sns != ns_of(ls.gateway):
        _cross_namespace_grant(ctx, ls, sns, sname, rr)
    secret_missing = _secret_missing(ctx, secret, rr)
    cert = _certificate_for(ctx, sns, sname)
    ctx.certificate = cert
    _cert_manager_health(ctx, cert, secret_missing)
    if cert is None:
        _no_certificate(ctx, ls, sns, sname, secret_missing, rr.cond)
    else:
        walk_chain(ctx, cert, secret_missing)
    _secret_node(ctx, secret, sns, sname, cert, secret_missing, rr)
    _unusable_secret(ctx, secret, f"{sns}/{sname}", rr.cond if rr.rejects_content else None)


@dataclass
class _ResolvedRefs:
    """The listener's ResolvedRefs condition: Envoy Gateway's own verdict on the Secret."""

    cond: dict[str, Any] | None

    @property
    def bad(self) -> bool:
        return self.cond is not None and self.cond.get("status") != "True"

    @property
    def reason(self) -> Any:
        return (self.cond or {}).get("reason")

    @property
    def message(self) -> str:
        return str((self.cond or {}).get("message") or "")

    @property
    def says_missing(self) -> bool:
        return self.bad and self.reason == "InvalidCertificateRef" and "does not exist" in self.message

    @property
    def rejects_content(self) -> bool:
        """The listener rejects the Secret's content (expired, wrong type, no key): it saw
        the Secret exist."""
        return self.bad and self.reason == "InvalidCertificateRef" and not self.says_missing


def _cross_namespace_grant(ctx: Ctx, ls: Listener, sns: str, sname: str, rr: _ResolvedRefs) -> None:
    """A Secret in another namespace needs a ReferenceGrant there."""
    gw = ls.gateway
    gns = ns_of(gw)
    grant = grant_allows(ctx.idx, "Gateway", gns, "Secret", sns, sname)
    if (rr.bad and rr.reason == "RefNotPermitted") or grant is False:
        ctx.add(
            "cert-refgrant-missing",
            f"listener {ls.name} of Gateway {gns}/{name_of(gw)} refers to Secret {sns}/{sname} in another "
            f"namespace and no ReferenceGrant in {sns} allows it"
            + (f" ({rr.reason}: {rr.message})" if rr.bad else ""),
            node="secret",
            evidence={"gateway": f"{gns}/{name_of(gw)}", "secret": f"{sns}/{sname}", "listener_condition": rr.cond},
            commands=[f"kubectl -n {sns} get referencegrants -o yaml", cmd.describe("gateway", gns, name_of(gw))],
        )


def _secret_missing(ctx: Ctx, secret: Obj | None, rr: _ResolvedRefs) -> bool:
    """The Secret is known not to exist: the evidence holds the Secrets and not this one,
    or the listener says so. A listener that rejects its content saw it exist, so an
    evidence without it is not proof that it is missing."""
    idx = ctx.idx
    missing = secret is None and (idx.was_read("Secret") or rr.says_missing) and not rr.rejects_content
    if secret is None and not idx.was_read("Secret") and not rr.says_missing and rr.bad and rr.reason == "RefNotPermitted":
        missing = False
    return missing


def _certificate_for(ctx: Ctx, sns: str, sname: str) -> Obj | None:
    """The Certificate that writes the Secret (a Ready one first)."""
    certs = list(ctx.idx.certificates_writing(sns, sname))
    certs.sort(key=lambda c: (condition(status(c).get("conditions"), "Ready") or {}).get("status") != "True")
    return certs[0] if certs else None


def _secret_node(ctx: Ctx, secret: Obj | None, sns: str, sname: str, cert: Obj | None,
                 secret_missing: bool, rr: _ResolvedRefs) -> None:
    """The secret node and the stored certificate."""
    sref = f"{sns}/{sname}"
    if secret is not None:
        pem = secret_chain_pem(secret)
        ctx.secret_pem = pem
        if not pem:
            keys = as_list(secret.get("keys"))
            # Envoy Gateway's own verdict on the Secret decides whether this breaks the listener.
            bad = rr.cond is not None and rr.cond.get("status") == "False"
            ctx.set_node("secret", "fail" if bad else "warn", f"Secret {sref} holds no readable certificate in tls.crt", keys=keys)
        else:
            stored_certificate(ctx, sref, pem, cert)
    elif secret_missing:
        if ctx.nodes.get("secret") is None:
            ctx.set_node("secret", "fail", f"Secret {sref} does not exist", listener_condition=rr.cond)
        listener_says = f" (listener: {rr.reason}: {rr.message})" if rr.says_missing else ""
        ctx.add(
            "cert-secret-missing",
            f"the listener's Secret {sref} does not exist{listener_says}",
            evidence={"secret": sref, "listener_condition": rr.cond,
                      "certificate": f"{ns_of(cert)}/{name_of(cert)}" if cert else None},
            commands=[f"kubectl -n {sns} get secret {sname}"]
            + ([cmd.cmctl_status(ns_of(cert), name_of(cert))] if cert else []),
        )
    else:
        err = ctx.idx.read_error("Secret")
        ok_per_listener = rr.cond is not None and rr.cond.get("status") == "True"
        if err is not None:
            ctx.set_node("secret", "unknown", f"Secret {sref} could not be read: {err.get('reason')}", listener_condition=rr.cond)
        elif ok_per_listener:
            ctx.set_node("secret", "pass", f"Secret {sref} not in the evidence; the listener resolves it (ResolvedRefs=True)")
        else:
            # A snapshot without Secrets says nothing about them.
            ctx.set_node("secret", "skip", f"Secret {sref} not in the evidence", listener_condition=rr.cond)


_EXPIRY_WORDS = ("expired", "not yet valid", "valid after")


def _unusable_secret(ctx: Ctx, secret: Obj | None, sref: str, rejected: dict[str, Any] | None) -> None:
    """A Secret that exists but cannot serve: the listener rejects it, or its key is not
    the certificate's (checked when it was read; only the verdict was kept)."""
    sns, sname = sref.split("/", 1)
    msg = str((rejected or {}).get("message") or "")
    if rejected is not None and any(w in msg.lower() for w in _EXPIRY_WORDS):
        ctx.add(
            "cert-expired",
            f"Envoy Gateway rejects Secret {sref}: {msg}",
            node="secret",
            evidence={"secret": sref, "listener_condition": rejected},
            commands=[f"kubectl -n {sns} get secret {sname} -o jsonpath='{{.data.tls\\.crt}}' | base64 -d | openssl x509 -noout -dates -subject"],
        )
        return
    key = as_dict((secret or {}).get("tls_key"))
    problem = key.get("problem") if isinstance(key.get("problem"), str) else None
    if rejected is None and problem is None:
        return
    why = "; ".join(x for x in (problem, f"listener: InvalidCertificateRef: {msg}" if rejected else None) if x)
    node = ctx.nodes.get("secret")
    details = dict(node.details) if node is not None else {}
    details.update({"secret": sref, "tls_key": key or None, "listener_condition": rejected,
                    "keys": as_list((secret or {}).get("keys")) or None, "type": (secret or {}).get("type")})
    ctx.set_node("secret", "fail", f"Secret {sref} exists but cannot be used: {why}", **details)
    ctx.add(
        "cert-secret-invalid",
        f"the listener's Secret {sref} exists but cannot be used: {why}",
        evidence={"secret": sref, "type": (secret or {}).get("type"), "keys": as_list((secret or {}).get("keys")) or None,
                  "tls_key": key or None, "listener_condition": rejected},
        commands=[f"kubectl -n {sns} get secret {sname} -o jsonpath='{{.type}}{{\"\\n\"}}{{.metadata.annotations}}'"],
    )


def _cert_manager_health(ctx: Ctx, cert: Obj | None, secret_missing: bool) -> None:
    idx = ctx.idx
    uses_cm = cert is not None or bool(idx.all("Certificate"))
    cm_err = idx.read_error("Certificate")
    if cm_err and "not installed" in str(cm_err.get("reason", "")) and secret_missing:
        ctx.add(
            "cert-manager-down",
            f"cert-manager is not installed ({cm_err.get('reason')}), so nothing issues the listener's Secret",
            evidence={"error": cm_err},
            commands=["kubectl get crd certificates.cert-manager.io", "kubectl get deploy -A -l app.kubernetes.io/name=cert-manager"],
        )
        return
    if not uses_cm or not idx.was_read("Deployment"):
        return
    cms = ctx.controllers.get("cert-manager") or []
    running = [c for c in cms if c.available]
    if running:
        return
    ready = cert is not None and (condition(status(cert).get("conditions"), "Ready") or {}).get("status") == "True"
    broken = secret_missing or not ready
    renewal = parse_rfc3339(status(cert).get("renewalTime")) if cert is not None else None
    # Past its renewal time nothing renews it: the controller is the cause of what follows.
    due = renewal is not None and ctx.now >= renewal
    renewal_text = status(cert).get("renewalTime") if cert is not None else None
    if cms:
        c = cms[0]
        st = status(c.deployment)
        why = (
            f"Deployment {c.namespace}/{c.name} has {st.get('availableReplicas', 0) or 0} available of "
            f"{spec(c.deployment).get('replicas', 1)} replicas"
        )
    else:
        why = "no cert-manager controller Deployment runs in the cluster"
    ctx.add(
        "cert-manager-down",
        f"cert-manager is down: {why}; no certificate is issued or renewed"
        + ("" if broken else " (the current certificate still works"
           + (f"; its renewal was due at {renewal_text})" if due else ")")),
        severity="critical" if broken else "warning",
        evidence={"deployments": [{"deployment": f"{c.namespace}/{c.name}", "image": c.image, "available": c.available} for c in cms]},
        commands=["kubectl get deploy -A -l app.kubernetes.io/name=cert-manager", "kubectl -n cert-manager get pods"],
    )


def _no_certificate(ctx: Ctx, ls: Any, sns: str, sname: str, secret_missing: bool, rr: Any) -> None:
    wanted = [h for h in (ls.hostname, ctx.host) if h]
    similar = []
    for c in ctx.idx.all("Certificate"):
        names = [str(n).lower() for n in as_list(spec(c).get("dnsNames"))]
        if any(n == w or gw_matches(n, ctx.host) for n in names for w in wanted):
            similar.append(c)
    similar.sort(key=lambda c: (ns_of(c) != sns, name_of(c)))
    if similar:
        c = similar[0]
        other = spec(c).get("secretName")
        ctx.add(
            "cert-secret-name-mismatch",
            f"listener {ls.name} refers to Secret {sns}/{sname}, but Certificate {ns_of(c)}/{name_of(c)} "
            f"for {', '.join(as_list(spec(c).get('dnsNames')))} writes Secret {ns_of(c)}/{other}; no Certificate writes {sname}",
            severity="critical" if secret_missing else "warning",
            evidence={
                "listener_secret": f"{sns}/{sname}",
                "certificate": f"{ns_of(c)}/{name_of(c)}",
                "certificate_secretName": other,
                "listener_condition": rr,
            },
            commands=[
                "kubectl get certificates -A -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,SECRET:.spec.secretName,DNS:.spec.dnsNames",
                f"kubectl -n {ns_of(ls.gateway)} get gateway {name_of(ls.gateway)} -o jsonpath='{{.spec.listeners[*].tls.certificateRefs}}'",
            ],
        )
        ctx.set_node("certificate", "fail", f"no Certificate writes {sname}; {ns_of(c)}/{name_of(c)} writes {other}",
                     certificate=f"{ns_of(c)}/{name_of(c)}", secretName=other)
    elif ctx.idx.was_read("Certificate"):
        if secret_missing:
            ctx.set_node("certificate", "fail", f"no Certificate has secretName {sname} in {sns}")
        else:
            ctx.set_node("certificate", "skip", f"no Certificate has secretName {sname}: the Secret is not issued by cert-manager")
    elif ctx.idx.read_error("Certificate") is not None:
        ctx.set_node("certificate", "unknown", f"Certificates could not be read: {as_dict(ctx.idx.read_error('Certificate')).get('reason')}")
    else:
        ctx.set_node("certificate", "skip", "no Certificates in the evidence")
    skip_chain(ctx, "no Certificate for the listener's Secret", CHAIN_NODES[1:])
