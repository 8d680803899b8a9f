"""Issuers and their ACME solvers: Ready, solver selection, the v1.16.0 secret bug."""

from __future__ import annotations

from typing import Any

from edgedoctor.diagnosis import commands as cmd
from edgedoctor.diagnosis.context import Ctx
from edgedoctor.diagnosis.index import (
    Obj,
    as_dict,
    as_list,
    condition,
    meta,
    name_of,
    ns_of,
    spec,
    status,
)


def issuer_obj(ctx: Ctx, cert: Obj) -> tuple[str, str, Obj | None]:
    ref = as_dict(spec(cert).get("issuerRef"))
    kind = str(ref.get("kind") or "Issuer")
    name = str(ref.get("name") or "")
    ns = ns_of(cert) if kind == "Issuer" else ""
    return kind, name, ctx.idx.get(kind, ns, name)


def issuer_ready(ctx: Ctx, cert: Obj) -> bool:
    kind, name, issuer = issuer_obj(ctx, cert)
    ref = as_dict(spec(cert).get("issuerRef"))
    group = ref.get("group")
    if group not in (None, "", "cert-manager.io"):
        return True  # external issuer: its own conditions are out of scope
    where = f"{kind} {ns_of(cert) + '/' if kind == 'Issuer' else ''}{name}"
    if issuer is None:
        if not ctx.idx.was_read(kind):
            return True
        ctx.add(
            "cert-issuer-not-ready",
            f"Certificate {ns_of(cert)}/{name_of(cert)} refers to {where}, which does not exist",
            evidence={"issuerRef": ref},
            commands=[f"kubectl get {kind.lower()}s -A" if kind == "Issuer" else "kubectl get clusterissuers"],
        )
        return False
    rc = condition(status(issuer).get("conditions"), "Ready")
    if rc is not None and rc.get("status") == "True":
        return True
    ready = (condition(status(cert).get("conditions"), "Ready") or {}).get("status") == "True"
    ctx.add(
        "cert-issuer-not-ready",
        f"{where} is not Ready ({(rc or {}).get('reason', 'no Ready condition')}: {(rc or {}).get('message', '')})",
        severity="critical" if not ready else "warning",
        evidence={"issuer": where, "ready": rc, "acme_server": as_dict(spec(issuer).get("acme")).get("server")},
        commands=[cmd.describe(kind.lower(), ns_of(issuer), name)],
    )
    return False


def _solvers(issuer: Obj) -> list[dict[str, Any]]:
    return [s for s in as_list(as_dict(spec(issuer).get("acme")).get("solvers")) if isinstance(s, dict)]


def solver_selects(solver: dict[str, Any], domain: str, cert: Obj) -> bool:
    sel = solver.get("selector")
    if not isinstance(sel, dict) or not sel:
        return True
    d = domain.lower().lstrip("*.") if domain.startswith("*.") else domain.lower()
    names = [str(n).lower() for n in as_list(sel.get("dnsNames"))]
    zones = [str(z).lower().rstrip(".") for z in as_list(sel.get("dnsZones"))]
    match_labels = as_dict(sel.get("matchLabels"))
    if match_labels:
        labs = as_dict(meta(cert).get("labels"))
        if any(labs.get(k) != v for k, v in match_labels.items()):
            return False
    if not names and not zones:
        return True
    if domain.lower() in names:
        return True
    return any(d == z or d.endswith("." + z) for z in zones)


def solver_selection(ctx: Ctx, cert: Obj) -> None:
    kind, name, issuer = issuer_obj(ctx, cert)
    if issuer is None or "acme" not in spec(issuer):
        return
    solvers = _solvers(issuer)
    if not solvers:
        return
    missing = [str(d) for d in as_list(spec(cert).get("dnsNames")) if not any(solver_selects(s, str(d), cert) for s in solvers)]
    if not missing:
        return
    ready = (condition(status(cert).get("conditions"), "Ready") or {}).get("status") == "True"
    sels = [as_dict(s.get("selector")) for s in solvers]
    ctx.add(
        "cert-solver-no-match",
        f"no solver of {kind} {name} selects {', '.join(missing)} (selectors: "
        + "; ".join(
            ", ".join(f"{k}={v}" for k, v in s.items()) or "none" for s in sels
        )
        + "); cert-manager cannot create Challenges for them",
        severity="warning" if ready else "critical",
        node="challenge",
        evidence={"issuer": f"{kind}/{name}", "domains_without_solver": missing, "selectors": sels},
        commands=[f"kubectl get {kind.lower()} {name} -o jsonpath='{{.spec.acme.solvers}}'" if kind == "ClusterIssuer"
                  else f"kubectl -n {ns_of(cert)} get issuer {name} -o jsonpath='{{.spec.acme.solvers}}'",
                  f"kubectl -n {ns_of(cert)} describe order"],
    )


def v1160_bug(ctx: Ctx, cert: Obj, message: str | None) -> bool:
    cm = ctx.controller("cert-manager")
    if cm is None or cm.version != (1, 16, 0):
        return False
    kind, name, issuer = issuer_obj(ctx, cert)
    if kind != "ClusterIssuer":
        return False
    secret_refs = []
    if issuer is not None:
        for s in _solvers(issuer):
            for prov in as_dict(s.get("dns01")).values():
                for key in ("apiTokenSecretRef", "apiKeySecretRef", "tokenSecretRef", "secretAccessKeySecretRef"):
                    r = as_dict(as_dict(prov).get(key))
                    if r.get("name"):
                        secret_refs.append(str(r["name"]))
    if not secret_refs and message is None:
        return False
    ctx.add(
        "cert-manager-v1160-issuer-namespace",
        f"cert-manager v1.16.0 reads ClusterIssuer {name}'s solver Secret ({', '.join(secret_refs) or 'its credentials'}) "
        "from the wrong namespace (fixed in v1.16.1)" + (f": {message}" if message else ""),
        evidence={"cert_manager_version": "v1.16.0", "clusterissuer": name, "secret_refs": secret_refs, "message": message},
        commands=[cmd.logs(cm.namespace, cm.name, "cloudflare secret"), f"kubectl -n {cm.namespace} get deploy {cm.name} -o jsonpath='{{.spec.template.spec.containers[0].image}}'"],
    )
    return True

