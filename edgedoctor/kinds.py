"""The Kubernetes kinds edgedoctor reads, with where the API serves them.

Shared by the live reader and the snapshot loader so both speak of the same
kinds. `versions` lists the API versions to try, newest first.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    kind: str
    group: str  # "" for the core group
    versions: tuple[str, ...]
    plural: str
    namespaced: bool = True
    # Which component installs the CRD: a missing CRD is reported with it.
    provided_by: str = ""

    @property
    def is_core(self) -> bool:
        return self.group in ("", "apps", "discovery.k8s.io")


GATEWAY_API = "gateway.networking.k8s.io"
ENVOY = "gateway.envoyproxy.io"
CERT_MANAGER = "cert-manager.io"
ACME = "acme.cert-manager.io"

KINDS: tuple[Kind, ...] = (
    Kind("GatewayClass", GATEWAY_API, ("v1", "v1beta1"), "gatewayclasses", False, "Gateway API"),
    Kind("Gateway", GATEWAY_API, ("v1", "v1beta1"), "gateways", True, "Gateway API"),
    Kind("HTTPRoute", GATEWAY_API, ("v1", "v1beta1"), "httproutes", True, "Gateway API"),
    Kind("GRPCRoute", GATEWAY_API, ("v1",), "grpcroutes", True, "Gateway API"),
    Kind("ReferenceGrant", GATEWAY_API, ("v1", "v1beta1"), "referencegrants", True, "Gateway API"),
    Kind("EnvoyProxy", ENVOY, ("v1alpha1",), "envoyproxies", True, "Envoy Gateway"),
    Kind("ClientTrafficPolicy", ENVOY, ("v1alpha1",), "clienttrafficpolicies", True, "Envoy Gateway"),
    Kind("Certificate", CERT_MANAGER, ("v1",), "certificates", True, "cert-manager"),
    Kind("CertificateRequest", CERT_MANAGER, ("v1",), "certificaterequests", True, "cert-manager"),
    Kind("Issuer", CERT_MANAGER, ("v1",), "issuers", True, "cert-manager"),
    Kind("ClusterIssuer", CERT_MANAGER, ("v1",), "clusterissuers", False, "cert-manager"),
    Kind("Order", ACME, ("v1",), "orders", True, "cert-manager"),
    Kind("Challenge", ACME, ("v1",), "challenges", True, "cert-manager"),
    Kind("Service", "", ("v1",), "services", True, "Kubernetes"),
    Kind("EndpointSlice", "discovery.k8s.io", ("v1",), "endpointslices", True, "Kubernetes"),
    Kind("Deployment", "apps", ("v1",), "deployments", True, "Kubernetes"),
    Kind("ConfigMap", "", ("v1",), "configmaps", True, "Kubernetes"),
    Kind("Secret", "", ("v1",), "secrets", True, "Kubernetes"),
    Kind("Namespace", "", ("v1",), "namespaces", False, "Kubernetes"),
)

BY_KIND: dict[str, Kind] = {k.kind: k for k in KINDS}
