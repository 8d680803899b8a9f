"""Which objects the live reader reads beyond its cluster-wide LISTs: the one source of
"which Gateways, Services, Secrets and ConfigMaps a check of these hosts needs" (pure).

`hosts` is the hostnames being checked: one `check`, the hosts a narrowed sweep kept, or
None for any host (an unnarrowed sweep, lint). The Gateway API's own matching decides
(`gw_matches`: an empty hostname accepts every host, `*.example.com` any name below it),
done against a set of hosts at once so that a sweep of thousands stays linear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from edgedoctor.diagnosis.gateway import listeners
from edgedoctor.diagnosis.index import as_dict, as_list, labels, name_of, ns_of, spec

# Images of the DNS servers whose Corefile the diagnosis reads.
DNS_SERVER_IMAGES = ("k8s_gateway", "k8s-gateway", "coredns")
# Label selectors for the Deployments the diagnosis looks at: the controllers (the names
# their charts give, and Envoy Gateway's own label).
CONTROLLER_NAMES = "cert-manager,external-dns,gateway-helm,envoy-gateway,k8s-gateway,k8s_gateway,coredns"
CONTROLLERS: tuple[tuple[str, str], ...] = (
    ("Deployment", f"app.kubernetes.io/name in ({CONTROLLER_NAMES})"),
    ("Deployment", f"app in ({CONTROLLER_NAMES})"),
    ("Deployment", "control-plane=envoy-gateway"),
)
# Every Gateway's data plane at once (when no host narrows it to its Gateways).
DATA_PLANE_ALL: tuple[tuple[str, str], ...] = (
    ("Deployment", "app.kubernetes.io/managed-by=envoy-gateway"),
    ("Service", "gateway.envoyproxy.io/owning-gateway-name"),
    ("Service", "gateway.envoyproxy.io/owning-gatewayclass"),
)
OWNING_GATEWAY = "gateway.envoyproxy.io/owning-gateway-name={name},gateway.envoyproxy.io/owning-gateway-namespace={ns}"
OWNING_CLASS = "gateway.envoyproxy.io/owning-gatewayclass={cls}"
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute")

Names = list[tuple[str, str]]


class Hosts:
    """A set of hostnames (None: any host), asked whether a Gateway API hostname accepts one."""

    def __init__(self, hosts: str | Iterable[str] | None) -> None:
        if isinstance(hosts, str):
            hosts = [hosts]
        self.any = hosts is None
        self.names = {h.lower().rstrip(".") for h in hosts or ()}
        # ".b.c" and ".c" for "a.b.c": what `*.b.c` and `*.c` need (a label before the dot).
        self.below = {h[i:] for h in self.names for i in range(1, len(h)) if h[i] == "."}

    def accept(self, pattern: Any) -> bool:
        """Does `pattern` (a listener's, route's or Certificate's name) accept one of the hosts?"""
        if self.any or not pattern:
            return self.any or bool(self.names)
        p = str(pattern).lower().rstrip(".")
        return p[1:] in self.below if p.startswith("*.") else p in self.names


def needed_gateways(hosts: str | Iterable[str] | Hosts | None, objects: list[dict[str, Any]]) -> Names:
    """The Gateways with a listener for one of the hosts (any host: every Gateway, a listener
    may still be added): whose Envoy data plane is read."""
    h = hosts if isinstance(hosts, Hosts) else Hosts(hosts)
    return sorted({(ns_of(o) or "default", name_of(o)) for o in objects if o.get("kind") == "Gateway"
                   and (h.any or any(h.accept(ls.hostname) for ls in listeners(o)))})


def route_backends(route: dict[str, Any]) -> Names:
    """The Services a route's rules send to."""
    ns = ns_of(route) or "default"
    out = []
    for rule in as_list(spec(route).get("rules")):
        for ref in as_list(as_dict(rule).get("backendRefs")):
            if not isinstance(ref, dict) or not ref.get("name"):
                continue
            if ref.get("kind", "Service") != "Service" or ref.get("group", "") not in ("", "core", None):
                continue
            out.append((str(ref.get("namespace") or ns), str(ref["name"])))
    return out


def needed_services(hosts: str | Iterable[str] | Hosts | None, objects: list[dict[str, Any]]) -> Names:
    """The backends of every route that may serve one of the hosts (a hostname accepting it,
    or none: the listener's then decides), and a Service named as each Gateway with a
    listener for one of them, or every Gateway for any host (Envoy Gateway's GatewayNamespace
    mode)."""
    h = hosts if isinstance(hosts, Hosts) else Hosts(hosts)
    out: set[tuple[str, str]] = set()
    for obj in objects:
        kind = obj.get("kind")
        if kind == "Gateway":
            if h.any or any(h.accept(ls.hostname) for ls in listeners(obj)):
                out.add((ns_of(obj) or "default", name_of(obj)))
        elif kind in ROUTE_KINDS:
            names = [str(n) for n in as_list(spec(obj).get("hostnames"))]
            if not names or any(h.accept(n) for n in names):
                out.update(route_backends(obj))
    return sorted(out)


def needed_secrets(hosts: str | Iterable[str] | Hosts | None, objects: list[dict[str, Any]]) -> Names:
    """The Secrets a check of the hosts needs: the certificateRefs of the HTTPS and TLS
    listeners for them, the Secret of each Certificate naming one of them, and the issuers'
    solver credentials (their keys only are kept)."""
    h = hosts if isinstance(hosts, Hosts) else Hosts(hosts)
    by_kind = _by_kind(objects, ("Gateway", "Certificate", "Issuer", "ClusterIssuer", "Deployment"))
    out: set[tuple[str, str]] = set()
    for gw in by_kind["Gateway"]:
        for ls in listeners(gw):
            if ls.protocol in ("HTTPS", "TLS") and h.accept(ls.hostname):
                for ref in as_list(as_dict(ls.spec.get("tls")).get("certificateRefs")):
                    if isinstance(ref, dict) and ref.get("name"):
                        out.add((str(ref.get("namespace") or ns_of(gw)), str(ref["name"])))
    for cert in by_kind["Certificate"]:
        # A SAN wildcard covers one label, a subset of what `accept` allows for `*.`.
        if spec(cert).get("secretName") and any(h.accept(str(n)) for n in as_list(spec(cert).get("dnsNames"))):
            out.add((ns_of(cert), str(spec(cert)["secretName"])))
    cluster_ns = _cluster_resource_namespace(by_kind["Deployment"])
    for iss in by_kind["Issuer"] + by_kind["ClusterIssuer"]:
        ns = ns_of(iss) if iss.get("kind") == "Issuer" else cluster_ns
        for solver in as_list(as_dict(spec(iss).get("acme")).get("solvers")):
            for prov in as_dict(as_dict(solver).get("dns01")).values():
                for key, val in as_dict(prov).items():
                    if key.endswith("SecretRef") and isinstance(val, dict) and val.get("name"):
                        out.add((ns, str(val["name"])))
    return sorted(out)


def _by_kind(objects: list[dict[str, Any]], kinds: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
    for o in objects:
        found = out.get(str(o.get("kind")))
        if found is not None:
            found.append(o)
    return out


def _cluster_resource_namespace(objects: list[dict[str, Any]]) -> str:
    """Where cert-manager reads a ClusterIssuer's Secrets (its --cluster-resource-namespace)."""
    out = "cert-manager"
    for dep in (o for o in objects if o.get("kind") == "Deployment"):
        for c in as_list(pod_spec(dep).get("containers")):
            if "cert-manager-controller" in str(as_dict(c).get("image", "")):
                for a in as_list(as_dict(c).get("args")):
                    if str(a).startswith("--cluster-resource-namespace="):
                        v = str(a).split("=", 1)[1]
                        out = ns_of(dep) if v.startswith("$(") else v
    return out


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return as_dict(as_dict(as_dict(obj.get("spec")).get("template")).get("spec"))


def dns_server_configmaps(objects: list[dict[str, Any]]) -> Names:
    """The ConfigMaps a k8s_gateway or CoreDNS Deployment mounts (its Corefile)."""
    out: set[tuple[str, str]] = set()
    for obj in objects:
        if obj.get("kind") != "Deployment":
            continue
        pod = pod_spec(obj)
        images = " ".join(str((c or {}).get("image") or "").lower() for c in pod.get("containers") or [])
        if not any(mark in images for mark in DNS_SERVER_IMAGES):
            continue
        ns = ns_of(obj) or "default"
        for vol in pod.get("volumes") or []:
            if not isinstance(vol, dict):
                continue
            sources = [vol] + [s for s in (vol.get("projected") or {}).get("sources") or [] if isinstance(s, dict)]
            for src in sources:
                name = (src.get("configMap") or {}).get("name")
                if isinstance(name, str) and name:
                    out.add((ns, name))
    return sorted(out)


_ROLE_IMAGES = {"cert-manager": "cert-manager-controller", "envoy-gateway": "envoyproxy/gateway"}
_EG_IMAGE = re.compile(r"(^|/)envoyproxy/gateway(:|@|$)")
_EG_NAMES = ("gateway-helm", "envoy-gateway")
_ENVOY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"


_EXTERNAL_DNS_ANNOTATIONS = ("external-dns.alpha.kubernetes.io/", "external-dns.kubernetes.io/")


def _wants_external_dns(objects: list[dict[str, Any]]) -> bool:
    """Something is written for external-dns: a DNSEndpoint, or an object annotated for it."""
    for o in objects:
        if o.get("kind") == "DNSEndpoint":
            return True
        ann = (o.get("metadata") or {}).get("annotations")
        if isinstance(ann, dict) and any(str(k).startswith(_EXTERNAL_DNS_ANNOTATIONS) for k in ann):
            return True
    return False


def controller_missing(objects: list[dict[str, Any]]) -> bool:
    """True when the objects need a controller that no label-selected Deployment runs:
    cert-manager for Certificates, Envoy Gateway for its GatewayClasses, external-dns for
    objects annotated for it (without it found, the diagnosis would say it is not deployed)."""
    images = " ".join(
        str((c or {}).get("image") or "")
        for o in objects if o.get("kind") == "Deployment"
        for c in pod_spec(o).get("containers") or []
    )
    kinds = {o.get("kind") for o in objects}
    if "Certificate" in kinds and _ROLE_IMAGES["cert-manager"] not in images:
        return True
    if "external-dns" not in images and _wants_external_dns(objects):
        return True
    envoy_classes = any(o.get("kind") == "GatewayClass"
                        and (o.get("spec") or {}).get("controllerName") == _ENVOY_CONTROLLER for o in objects)
    return envoy_classes and _ROLE_IMAGES["envoy-gateway"] not in images


def envoy_gateway_namespaces(objects: list[dict[str, Any]]) -> set[str]:
    """Where an Envoy Gateway controller runs (by image, or its chart's labels). Its data
    planes live there, or in their Gateway's namespace (its GatewayNamespace mode)."""
    out = set()
    for dep in (o for o in objects if o.get("kind") == "Deployment"):
        lab = labels(dep)
        if (any(_EG_IMAGE.search(str(as_dict(c).get("image") or "")) for c in as_list(pod_spec(dep).get("containers")))
                or lab.get("control-plane") == "envoy-gateway"
                or (lab.get("app.kubernetes.io/name") or lab.get("app")) in _EG_NAMES):
            out.add(ns_of(dep) or "default")
    return out
