"""What the controllers would write, computed from the specs alone.

Manifests carry no status. The engine reads statuses the way the controllers write them,
so this module writes the statuses Envoy Gateway and cert-manager would write for these
specs (the rules of the Gateway API specification and of the controllers), and the engine then diagnoses as it does for a cluster.
Routes get no status: the engine computes their attachment from the spec itself
(allowedRoutes, sectionName, hostnames), which is the prediction.

What only the running cluster knows (the load balancer's address, whether a Pod is ready,
what Let's Encrypt answers) is assumed healthy and never reported from manifests.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from edgedoctor.diagnosis.controllers import find_controllers
from edgedoctor.diagnosis.gateway import ENVOY_CONTROLLER, TLS_PROTOCOLS
from edgedoctor.diagnosis.index import (
    ClusterIndex,
    Obj,
    as_dict,
    as_list,
    name_of,
    ns_of,
    spec,
)
from edgedoctor.diagnosis.issuers import solver_selects
from edgedoctor.diagnosis.routing import grant_allows

# Shown where the engine wants the Gateway's address: it is assigned by the load balancer
# when the Gateway is applied, so manifests cannot name it.
PENDING_ADDRESS = "<assigned by the load balancer>"

# Kinds the manifests can hold a Secret under: cert-manager writes it from a Certificate,
# Sealed Secrets and External Secrets write it from their own objects.
_SECRET_WRITERS = ("Certificate", "Secret", "SealedSecret", "ExternalSecret")


def _cond(type_: str, status_: bool, reason: str, message: str = "") -> dict[str, Any]:
    return {"type": type_, "status": "True" if status_ else "False", "reason": reason, "message": message}


def _listener_group(protocol: str) -> str:
    # HTTPS and TLS share a port by SNI; HTTP cannot share a port with them.
    return "tls" if protocol in TLS_PROTOCOLS else protocol.lower()


def secret_writers(objects: list[Obj]) -> dict[tuple[str, str], list[Obj]]:
    """(namespace, Secret name) -> the objects that write or are that Secret."""
    out: dict[tuple[str, str], list[Obj]] = defaultdict(list)
    for o in objects:
        kind = o.get("kind")
        if kind == "Certificate" and spec(o).get("secretName"):
            out[(ns_of(o), str(spec(o)["secretName"]))].append(o)
        elif kind in ("Secret", "SealedSecret"):
            out[(ns_of(o), name_of(o))].append(o)
        elif kind == "ExternalSecret":
            target = as_dict(spec(o).get("target")).get("name") or name_of(o)
            out[(ns_of(o), str(target))].append(o)
    return out


def secret_refusal(writers: list[Obj]) -> str | None:
    """Why Envoy Gateway would refuse a listener Secret whose data the manifests hold, in its
    words (v1.9 validate.go, tls.go), or None: usable, or written by something else (a
    Certificate, a SealedSecret: the data is not in the manifests).

    A manifest's Secret is read as is (its key is parsed, compared with the certificate and
    dropped by redact.key_check); a recorded one (redacted) by the verdict kept of it.
    """
    from edgedoctor.redact import key_check

    if not writers or any(w.get("kind") != "Secret" for w in writers):
        return None
    secret = writers[-1]
    if secret.get("type") != "kubernetes.io/tls":
        return "must be of type kubernetes.io/tls."
    if secret.get("redacted"):
        check = as_dict(secret.get("tls_key"))
        has_crt = "tls.crt" in as_list(secret.get("keys"))
    else:
        data, string_data = as_dict(secret.get("data")), as_dict(secret.get("stringData"))
        check = as_dict(key_check(data, string_data, secret.get("type")))
        has_crt = bool(string_data.get("tls.crt") or data.get("tls.crt"))
    if not has_crt or check.get("present") is False:
        return "must contain tls.crt and tls.key."
    if check.get("matches_certificate") is False:
        return "must contain a matching tls.crt and tls.key."
    return None


def _listener_status(idx: ClusterIndex, gw: Obj, ls: dict[str, Any], conflicted: str | None,
                     writers: dict[tuple[str, str], list[Obj]], secrets_known: bool) -> dict[str, Any]:
    proto = str(ls.get("protocol") or "").upper()
    conds = []
    programmed_ok = True
    if conflicted:
        msg = ("All listeners for a given port must use a compatible protocol" if conflicted == "ProtocolConflict"
               else "All listeners for a given port must use a unique hostname")
        conds.append(_cond("Conflicted", True, conflicted, msg))
        programmed_ok = False
    else:
        conds.append(_cond("Conflicted", False, "NoConflicts"))
    tls = as_dict(ls.get("tls"))
    terminate = proto == "HTTPS" or (proto == "TLS" and tls.get("mode", "Terminate") == "Terminate")
    resolved = _cond("ResolvedRefs", True, "ResolvedRefs")
    if terminate:
        refs = [r for r in as_list(tls.get("certificateRefs")) if isinstance(r, dict)]
        if not refs:
            programmed_ok = False
            conds.append(_cond("Programmed", False, "Invalid", "Listener must have at least 1 TLS certificate ref"))
        for i, r in enumerate(refs):
            sns = str(r.get("namespace") or ns_of(gw))
            sname = str(r.get("name") or "")
            if (r.get("kind") or "Secret") != "Secret" or (r.get("group") or "") not in ("", "core"):
                resolved = _cond("ResolvedRefs", False, "InvalidCertificateRef",
                                 f"certificate refs {i}: Listener's TLS certificate ref kind must be Secret.")
                break
            if sns != ns_of(gw) and grant_allows(idx, "Gateway", ns_of(gw), "Secret", sns, sname) is False:
                resolved = _cond("ResolvedRefs", False, "RefNotPermitted",
                                 f"No valid secrets exist: certificate refs {i}: Certificate ref to secret {sns}/{sname} not permitted by any ReferenceGrant.")
                break
            if secrets_known and not writers.get((sns, sname)):
                resolved = _cond("ResolvedRefs", False, "InvalidCertificateRef",
                                 f"No valid secrets exist: certificate refs {i}: Secret {sns}/{sname} does not exist.")
                break
            refusal = secret_refusal(writers.get((sns, sname)) or [])
            if refusal:
                resolved = _cond("ResolvedRefs", False, "InvalidCertificateRef",
                                 f"No valid secrets exist: certificate refs {i}: Secret {sns}/{sname} {refusal}")
                break
        if resolved["status"] == "False":
            programmed_ok = False
    conds.append(resolved)
    conds.append(_cond("Accepted", not conflicted, "Accepted" if not conflicted else "Conflicted"))
    if not any(c["type"] == "Programmed" for c in conds):
        conds.append(_cond("Programmed", programmed_ok, "Programmed" if programmed_ok else "Invalid",
                           "" if programmed_ok else "Listener is invalid, see other Conditions for details."))
    return {"name": ls.get("name"), "conditions": conds, "supportedKinds": []}


def _conflicts(listeners: list[dict[str, Any]]) -> dict[str, str]:
    by_port: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for ls in listeners:
        by_port[ls.get("port")].append(ls)
    out: dict[str, str] = {}
    for group in by_port.values():
        kinds = {_listener_group(str(ls.get("protocol") or "").upper()) for ls in group}
        if len(kinds) > 1:
            for ls in group:
                out[str(ls.get("name"))] = "ProtocolConflict"
            continue
        seen: dict[str, list[str]] = defaultdict(list)
        for ls in group:
            seen[str(ls.get("hostname") or "").lower()].append(str(ls.get("name")))
        for names in seen.values():
            if len(names) > 1:
                for n in names:
                    out[n] = "HostnameConflict"
    return out


def predict_statuses(objects: list[Obj], *, keep: set[int] | None = None,
                     addresses: dict[tuple[str, str], list[dict[str, Any]]] | None = None,
                     index: ClusterIndex | None = None) -> dict[str, Any]:
    """Write predicted statuses onto `objects` in place (skipping ids in `keep`).

    `addresses` carries a Gateway's status.addresses from the cluster it replaces (the load
    balancer keeps the address when the Gateway is updated). `index`, when given, is an
    index already built over these objects (ReferenceGrants counted as read): statuses do
    not change what it indexes. Returns facts the caller reports: which controllers the
    tree deploys.
    """
    from edgedoctor.evidence import ClusterEvidence

    keep = keep or set()
    addresses = addresses or {}
    kinds = {o.get("kind") for o in objects}
    idx = index if index is not None else ClusterIndex(ClusterEvidence(
        objects=objects, kinds_read=sorted(k for k in kinds if isinstance(k, str)) + ["ReferenceGrant"]))
    controllers = find_controllers(idx)
    writers = secret_writers(objects)
    secrets_known = any(k in kinds for k in _SECRET_WRITERS)
    cm_versions = [c.version for c in controllers.get("cert-manager") or []]
    platform = bool(controllers)

    for o in objects:
        if id(o) in keep:
            continue
        kind = o.get("kind")
        if kind == "Deployment":
            r = spec(o).get("replicas", 1)
            n = r if isinstance(r, int) else 1
            o["status"] = {"replicas": n, "readyReplicas": n, "availableReplicas": n,
                           "conditions": [_cond("Available", n > 0, "MinimumReplicasAvailable" if n else "ZeroReplicas")]}
        elif kind == "GatewayClass":
            wanted = str(spec(o).get("controllerName") or "")
            if wanted == ENVOY_CONTROLLER and platform and not controllers.get("envoy-gateway"):
                # The tree deploys the edge's controllers, but not the one this class waits for.
                o["status"] = {"conditions": [_cond("Accepted", False, "Pending", "Waiting for controller")]}
            else:
                o["status"] = {"conditions": [_cond("Accepted", True, "Accepted")]}
        elif kind == "Gateway":
            ls = [x for x in as_list(spec(o).get("listeners")) if isinstance(x, dict)]
            conflicts = _conflicts(ls)
            lstat = [_listener_status(idx, o, x, conflicts.get(str(x.get("name"))), writers, secrets_known) for x in ls]
            addrs = addresses.get((ns_of(o), name_of(o))) or [
                {"type": a.get("type", "IPAddress"), "value": a["value"]}
                for a in as_list(spec(o).get("addresses")) if isinstance(a, dict) and a.get("value")
            ] or [{"type": "IPAddress", "value": PENDING_ADDRESS}]
            bad = [s for s in lstat if any(c["type"] == "Programmed" and c["status"] == "False" for c in s["conditions"])]
            all_bad = bool(ls) and len(bad) == len(ls)
            o["status"] = {
                "addresses": addrs,
                "conditions": [
                    _cond("Accepted", True, "Accepted" if not bad else "ListenersNotValid"),
                    _cond("Programmed", not all_bad, "Programmed" if not all_bad else "Invalid"),
                ],
                "listeners": lstat,
            }
        elif kind in ("Issuer", "ClusterIssuer"):
            o["status"] = {"conditions": [_cond("Ready", True, "ACMEAccountRegistered" if "acme" in spec(o) else "IsReady")]}
        elif kind == "Certificate":
            o["status"] = {"conditions": [_certificate_ready(idx, o, cm_versions)]}
        elif kind in ("HTTPRoute", "GRPCRoute"):
            o.pop("status", None)  # the engine computes attachment from the spec
    return {"controllers": controllers}


def _certificate_ready(idx: ClusterIndex, cert: Obj, cm_versions: list[Any]) -> dict[str, Any]:
    ref = as_dict(spec(cert).get("issuerRef"))
    kind = str(ref.get("kind") or "Issuer")
    issuer = idx.get(kind, ns_of(cert) if kind == "Issuer" else "", str(ref.get("name") or ""))
    if issuer is None and idx.all(kind) and (ref.get("group") or "cert-manager.io") == "cert-manager.io":
        return _cond("Ready", False, "Pending", f"the {kind} named in issuerRef is not among the manifests")
    if issuer is not None:
        solvers = [s for s in as_list(as_dict(spec(issuer).get("acme")).get("solvers")) if isinstance(s, dict)]
        names = [str(n) for n in as_list(spec(cert).get("dnsNames"))]
        if solvers and any(not any(solver_selects(s, n, cert) for s in solvers) for n in names):
            return _cond("Ready", False, "Pending", "Failed to determine a valid solver configuration")
    if (1, 16, 0) in cm_versions and kind == "ClusterIssuer":
        # cert-manager v1.16.0 reads a ClusterIssuer's solver Secret from the wrong namespace.
        return _cond("Ready", False, "Pending", "Issuing certificate as Secret does not exist")
    return _cond("Ready", True, "Ready", "Certificate is up to date and has not expired")


def route_parent_verdicts(idx: ClusterIndex, route: Obj) -> list[tuple[dict[str, Any], bool, str]]:
    """Per parentRef naming a Gateway: (parentRef, Accepted, reason), as the Gateway API
    spec decides it. A route is accepted by a parent when at least one listener that the
    ref selects admits its namespace and kind and shares a hostname with it."""
    from edgedoctor.diagnosis.context import Listener
    from edgedoctor.diagnosis.gateway import listeners
    from edgedoctor.diagnosis.hostnames import gw_intersects
    from edgedoctor.diagnosis.routes import (
        is_gateway_ref,
        kind_allowed,
        namespace_allowed,
        parent_refs,
        ref_selects_listener,
        route_hostnames,
    )

    out = []
    names = route_hostnames(route)
    for p in parent_refs(route):
        if not is_gateway_ref(p):
            continue
        gw = idx.get("Gateway", str(p.get("namespace") or ns_of(route)), str(p.get("name") or ""))
        if gw is None:
            out.append((p, False, "NoMatchingParent"))
            continue
        selected: list[Listener] = [ls for ls in listeners(gw) if ref_selects_listener(p, ls)]
        if not selected:
            out.append((p, False, "NoMatchingParent"))
            continue
        allowed = [ls for ls in selected if namespace_allowed(idx, route, ls) is not False and kind_allowed(route, ls)]
        if not allowed:
            out.append((p, False, "NotAllowedByListeners"))
            continue
        if names and not any(gw_intersects(h, ls.hostname) for h in names for ls in allowed):
            out.append((p, False, "NoMatchingListenerHostname"))
            continue
        out.append((p, True, "Accepted"))
    return out
