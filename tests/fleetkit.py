"""A cluster with many hosts for the sweep tests: the healthy base edge plus more routes.

Healthy: app, api, blog (.example.com) on Gateway gateway/external.
Broken, one per category that the objects alone can show:
  orders.example.com   app-routing    its backend Service does not exist
  legacy.example.com   cert-issuance  its own listener names a Secret no Certificate writes
A second Gateway gateway/internal (also *.example.com) whose data plane is down: the three
hosts whose routes attach to it share one root cause, which a sweep says once.
"""

from __future__ import annotations

import copy
from typing import Any

from tests import casekit

ACCEPTED = [
    {"type": "Accepted", "status": "True", "reason": "Accepted", "message": "Route is accepted"},
    {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs", "message": "Resolved all the Object references for the Route"},
]
HEALTHY = ["api.example.com", "app.example.com", "blog.example.com"]
BROKEN = {"orders.example.com": ("app-routing", "route-backend-unresolved"),
          "legacy.example.com": ("cert-issuance", "cert-secret-name-mismatch")}
INTERNAL = ["chat.example.com", "hr.example.com", "wiki.example.com"]


def route(name: str, ns: str, host: str, backend: str, *, gateway: str = "external", section: str = "https",
          conditions: list[dict[str, Any]] | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    parent = {"name": gateway, "namespace": "gateway", "sectionName": section}
    meta: dict[str, Any] = {"name": name, "namespace": ns, "uid": f"fleet-{ns}-{name}",
                            "creationTimestamp": "2026-10-10T10:00:00Z"}
    if labels:
        meta["labels"] = labels
    return {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": meta,
        "spec": {"parentRefs": [parent], "hostnames": [host],
                 "rules": [{"backendRefs": [{"name": backend, "port": 80}]}]},
        "status": {"parents": [{"parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", **parent},
                                "controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
                                "conditions": conditions or ACCEPTED}]},
    }


def fleet_objects(*, address: str | None = None, leaf_pem: str | None = None) -> list[dict[str, Any]]:
    """The fleet cluster; `address` replaces both Gateways' address (a loopback edge) and
    `leaf_pem` the wildcard Secret's certificate (the one that edge serves)."""
    objs = casekit.base_objects()
    extra: list[dict[str, Any]] = [
        route("api", "shop", "api.example.com", "app", labels={"team": "shop"}),
        route("blog", "shop", "blog.example.com", "app", labels={"team": "content"}),
        route("orders", "shop", "orders.example.com", "orders", labels={"team": "shop"}, conditions=[
            ACCEPTED[0],
            {"type": "ResolvedRefs", "status": "False", "reason": "BackendNotFound",
             "message": 'Failed to process route rule 0 backendRef 0: service "shop/orders" not found.'},
        ]),
        route("legacy", "shop", "legacy.example.com", "app", section="legacy"),
    ]
    for h in INTERNAL:
        extra.append(route(h.split(".")[0], "shop", h, "app", gateway="internal"))
    edits: dict[str, Any] = {"set": extra, "patch": []}
    gw = next(o for o in objs if o["kind"] == "Gateway" and o["metadata"]["name"] == "external")
    gw = copy.deepcopy(gw)
    gw["spec"]["listeners"].append({
        "name": "legacy", "protocol": "HTTPS", "port": 443, "hostname": "legacy.example.com",
        "allowedRoutes": {"namespaces": {"from": "All"}},
        "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "group": "", "name": "legacy-example-com-tls"}]},
    })
    gw["status"]["listeners"].append({
        "name": "legacy", "attachedRoutes": 0,
        "supportedKinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
        "conditions": [
            {"type": "Programmed", "status": "False", "reason": "Invalid", "message": "Listener is invalid, see other Conditions for details."},
            {"type": "Accepted", "status": "True", "reason": "Accepted", "message": "Listener has been successfully translated"},
            {"type": "ResolvedRefs", "status": "False", "reason": "InvalidCertificateRef",
             "message": "Secret gateway/legacy-example-com-tls does not exist."},
        ],
    })
    internal = copy.deepcopy(gw)
    internal["metadata"].update({"name": "internal", "uid": "fleet-gateway-internal"})
    internal["metadata"].pop("labels", None)
    internal["spec"]["listeners"] = gw["spec"]["listeners"][:2]
    internal["status"]["listeners"] = gw["status"]["listeners"][:2]
    internal["status"]["conditions"] = [
        {"type": "Accepted", "status": "True", "reason": "Accepted", "message": "The Gateway has been scheduled by Envoy Gateway"},
        {"type": "Programmed", "status": "False", "reason": "NoResources", "message": "Envoy replicas unavailable"},
    ]
    extra += [gw, internal]
    if address:
        gw["status"]["addresses"] = [{"type": "IPAddress", "value": address}]
        internal["status"]["addresses"] = [{"type": "IPAddress", "value": address}]
        edits["patch"].append({"kind": "Service", "namespace": "envoy-gateway-system", "name": "envoy-gateway-external-3b2a9c1d",
                               "merge": {"status": {"loadBalancer": {"ingress": [{"ip": address}]}}}})
    if leaf_pem:
        import base64

        edits["patch"].append({"kind": "Secret", "namespace": "gateway", "name": "wildcard-example-com-tls",
                               "merge": {"data": {"tls.crt": base64.b64encode(leaf_pem.encode()).decode()}}})
    return casekit.apply_edits(objs, edits)
