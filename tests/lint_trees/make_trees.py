"""Writes the incident trees of tests/test_manifest_lint.py from the platform tree (run it
after changing platform/; the committed trees are what the tests read)."""

import pathlib
import textwrap

ROOT = pathlib.Path(__file__).resolve().parent
P = ROOT / "platform"
def plat(name): return (P / name).read_text()
def sub(name, *pairs):
    t = plat(name)
    for a, b in pairs:
        assert a in t, (name, a)
        t = t.replace(a, b, 1)
    return t
EMPTY = "# removed in this tree\n"
SELECTOR_GW = plat("gateway.yaml").replace("""    hostname: "*.example.com"
    allowedRoutes:
      namespaces:
        from: All
    tls:""", """    hostname: "*.example.com"
    allowedRoutes:
      namespaces:
        from: Selector
        selector:
          matchLabels:
            gateway-access: public
    tls:""")
def K8SGW(extra):
    return textwrap.dedent("""\
    # Split-horizon DNS inside the network (the maintained k8s_gateway fork).
    apiVersion: helm.toolkit.fluxcd.io/v2
    kind: HelmRelease
    metadata:
      name: k8s-gateway
      namespace: kube-system
    spec:
      interval: 10m
      chart:
        spec:
          chart: k8s-gateway
          version: 3.4.1
          sourceRef:
            kind: HelmRepository
            name: k8s-gateway
      values:
        domain: example.com
    """) + extra
GW_EP = plat("gateway.yaml").replace("spec:\n  gatewayClassName: eg\n", """spec:
  gatewayClassName: eg
  infrastructure:
    parametersRef:
      group: gateway.envoyproxy.io
      kind: EnvoyProxy
      name: edge-proxy
""")
def envoyproxy(annotations):
    ann = "".join(f"          {k}: \"{v}\"\n" for k, v in annotations.items())
    body = f"        annotations:\n{ann}" if ann else "        type: LoadBalancer\n"
    return ("apiVersion: gateway.envoyproxy.io/v1alpha1\nkind: EnvoyProxy\nmetadata:\n  name: edge-proxy\n"
            "  namespace: envoy-gateway-system\nspec:\n  provider:\n    type: Kubernetes\n    kubernetes:\n"
            f"      envoyService:\n{body}")
CTP = """---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: ClientTrafficPolicy
metadata:
  name: proxy-protocol
  namespace: envoy-gateway-system
spec:
  targetRefs:
  - group: gateway.networking.k8s.io
    kind: Gateway
    name: edge
  proxyProtocol: {}
"""
REFGRANT = """---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata:
  name: edge-gateway-secrets
  namespace: certs
spec:
  from:
  - group: gateway.networking.k8s.io
    kind: Gateway
    namespace: envoy-gateway-system
  to:
  - group: ""
    kind: Secret
"""
LANDING = """apiVersion: v1
kind: Namespace
metadata:
  name: landing
---
apiVersion: v1
kind: Service
metadata:
  name: landing
  namespace: landing
spec:
  ports:
  - port: 80
---
# Subdomains without a route of their own get the landing page.
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: landing
  namespace: landing
spec:
  parentRefs:
  - name: edge
    namespace: envoy-gateway-system
    sectionName: https
  hostnames:
  - "*.example.com"
  rules:
  - backendRefs:
    - name: landing
      port: 80
"""
def canary(match):
    return f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: shop-canary
  namespace: shop
spec:
  parentRefs:
  - name: edge
    namespace: envoy-gateway-system
    sectionName: https
  hostnames:
  - shop.example.com
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /
{match}    backendRefs:
    - name: shop
      port: 8080
"""
API_LISTENER = ("""        name: wildcard-example-com-tls
""", """        name: wildcard-example-com-tls
  - name: https-api
    protocol: HTTPS
    port: 443
    hostname: api.example.com
    allowedRoutes:
      namespaces:
        from: All
    tls:
      certificateRefs:
      - name: wildcard-example-com-tls
""")
API_ROUTE = """apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: api
  namespace: shop
spec:
  parentRefs:
  - name: edge
    namespace: envoy-gateway-system
    sectionName: https-api
  hostnames:
  - api.example.com
  rules:
  - backendRefs:
    - name: shop
      port: 8080
"""
ORG_LISTENER = ("""        name: wildcard-example-com-tls
""", """        name: wildcard-example-com-tls
  - name: https-org
    protocol: HTTPS
    port: 443
    hostname: "*.example.org"
    allowedRoutes:
      namespaces:
        from: All
    tls:
      certificateRefs:
      - name: wildcard-example-org-tls
""")
ORG_HTTP = ("""  - name: https
""", """  - name: http-org
    protocol: HTTP
    port: 80
    hostname: "*.example.org"
    allowedRoutes:
      namespaces:
        from: All
  - name: https
""")
ORG_CERT = """---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: wildcard-example-org
  namespace: envoy-gateway-system
spec:
  secretName: wildcard-example-org-tls
  dnsNames:
  - "*.example.org"
  issuerRef:
    kind: ClusterIssuer
    name: letsencrypt-prod
"""
ZONES = "dnsZones: [example.com]"
INCIDENTS = {
 # the listener was renamed; the route still names the old sectionName
 "route-not-accepted-sectionname": (
    {"gateway.yaml": sub("gateway.yaml", ("  - name: https\n", "  - name: websecure\n"))},
    {"gateway.yaml": sub("gateway.yaml", ("  - name: https\n", "  - name: websecure\n")),
     "app.yaml": sub("app.yaml", ("sectionName: https", "sectionName: websecure"))}),
 "cert-secret-name-mismatch": (
    {"certificate.yaml": sub("certificate.yaml", ("secretName: wildcard-example-com-tls", "secretName: wildcard-tls"))},
    {"certificate.yaml": sub("certificate.yaml", ("secretName: wildcard-example-com-tls", "secretName: wildcard-tls")),
     "gateway.yaml": sub("gateway.yaml", ("name: wildcard-example-com-tls", "name: wildcard-tls"))}),
 "route-not-accepted-namespace-selector": (
    {"gateway.yaml": SELECTOR_GW},
    {"gateway.yaml": SELECTOR_GW,
     "app.yaml": sub("app.yaml", ("metadata:\n  name: shop\n---", "metadata:\n  name: shop\n  labels:\n    gateway-access: public\n---"))}),
 "external-dns-ingress-only": (
    {"external-dns.yaml": sub("external-dns.yaml", ("sources: [service, ingress, gateway-httproute]", "sources: [service, ingress]"))},
    {"external-dns.yaml": plat("external-dns.yaml")}),
 "k8s-gateway-no-httproute": (
    {"k8s-gateway.yaml": K8SGW("")},
    {"k8s-gateway.yaml": K8SGW("    watchedResources: [Ingress, Service, HTTPRoute]\n")}),
 "proxy-protocol-envoy-only": (
    {"gateway.yaml": GW_EP, "proxy.yaml": envoyproxy({}) + CTP},
    {"gateway.yaml": GW_EP, "proxy.yaml": envoyproxy({"load-balancer.hetzner.cloud/uses-proxyprotocol": "true"}) + CTP}),
 "proxy-protocol-lb-only": (
    {"gateway.yaml": GW_EP, "proxy.yaml": envoyproxy({"service.beta.kubernetes.io/aws-load-balancer-proxy-protocol": "*"})},
    {"gateway.yaml": GW_EP, "proxy.yaml": envoyproxy({"service.beta.kubernetes.io/aws-load-balancer-proxy-protocol": "*"}) + CTP}),
 "cert-staging-in-production": (
    {"certificate.yaml": sub("certificate.yaml", ("name: letsencrypt-prod", "name: letsencrypt-staging"))},
    {"certificate.yaml": plat("certificate.yaml")}),
 "cert-refgrant-missing": (
    {"gateway.yaml": sub("gateway.yaml", ("        name: wildcard-example-com-tls\n", "        name: wildcard-example-com-tls\n        namespace: certs\n")),
     "certificate.yaml": sub("certificate.yaml", ("namespace: envoy-gateway-system", "namespace: certs"))},
    {"gateway.yaml": sub("gateway.yaml", ("        name: wildcard-example-com-tls\n", "        name: wildcard-example-com-tls\n        namespace: certs\n")),
     "certificate.yaml": sub("certificate.yaml", ("namespace: envoy-gateway-system", "namespace: certs")) + REFGRANT}),
 "route-backend-service-renamed": (
    {"app.yaml": sub("app.yaml", ("  - backendRefs:\n    - name: shop\n", "  - backendRefs:\n    - name: shop-v2\n"))},
    {"app.yaml": sub("app.yaml", ("  - backendRefs:\n    - name: shop\n", "  - backendRefs:\n    - name: shop-v2\n"),
                     ("kind: Service\nmetadata:\n  name: shop\n", "kind: Service\nmetadata:\n  name: shop-v2\n"))}),
 "landing-page-instead-of-app": (
    {"landing.yaml": LANDING, "app.yaml": sub("app.yaml", ("  - name: edge\n", "  - name: edge-public\n"))},
    {"landing.yaml": LANDING}),
 "listener-no-match-new-domain": (
    {"app.yaml": sub("app.yaml", ("- shop.example.com", "- shop.example.org"))},
    {"app.yaml": sub("app.yaml", ("- shop.example.com", "- shop.example.org"), ("sectionName: https", "sectionName: https-org")),
     "gateway.yaml": sub("gateway.yaml", ORG_LISTENER, ORG_HTTP),
     "redirect.yaml": sub("redirect.yaml", ("    sectionName: http\n", "    sectionName: http\n  - name: edge\n    sectionName: http-org\n")),
     "certificate.yaml": plat("certificate.yaml") + ORG_CERT,
     "issuers.yaml": plat("issuers.yaml").replace(ZONES, "dnsZones: [example.com, example.org]"),
     "external-dns.yaml": sub("external-dns.yaml", ("domainFilters: [example.com]", "domainFilters: [example.com, example.org]"))}),
 "cert-san-two-labels": (
    {"app.yaml": sub("app.yaml", ("- shop.example.com", "- shop.eu.example.com"))},
    {"app.yaml": sub("app.yaml", ("- shop.example.com", "- shop.eu.example.com")),
     "certificate.yaml": sub("certificate.yaml", ('  - "*.example.com"\n', '  - "*.example.com"\n  - "*.eu.example.com"\n'))}),
 "route-conflict-canary": (
    {"canary.yaml": canary("")},
    {"canary.yaml": canary("      headers:\n      - name: x-canary\n        value: \"true\"\n")}),
 "http-not-redirecting": (
    {"redirect.yaml": EMPTY},
    {"redirect.yaml": plat("redirect.yaml")}),
 "gatewayclass-no-controller": (
    {"envoy-gateway.yaml": EMPTY},
    {"envoy-gateway.yaml": plat("envoy-gateway.yaml")}),
 "cert-manager-7003-cleanup": (
    {"cert-manager.yaml": sub("cert-manager.yaml", ("version: v1.18.2", "version: v1.17.0"))},
    {"cert-manager.yaml": sub("cert-manager.yaml", ("version: v1.18.2", "version: v1.17.1"))}),
 "cert-manager-v1160-clusterissuer-secret": (
    {"cert-manager.yaml": sub("cert-manager.yaml", ("version: v1.18.2", "version: v1.16.0"))},
    {"cert-manager.yaml": sub("cert-manager.yaml", ("version: v1.18.2", "version: v1.16.4"))}),
 "cert-solver-dnszones-subzone": (
    {"issuers.yaml": plat("issuers.yaml").replace(ZONES, "dnsZones: [apps.example.com]")},
    {"issuers.yaml": plat("issuers.yaml").replace(ZONES, "dnsZones: [example.com, apps.example.com]")}),
 "cert-issuer-missing": (
    {"certificate.yaml": sub("certificate.yaml", ("name: letsencrypt-prod", "name: letsencrypt-production"))},
    {"certificate.yaml": plat("certificate.yaml")}),
 "route-missing-new-listener": (
    {"gateway.yaml": sub("gateway.yaml", API_LISTENER)},
    {"gateway.yaml": sub("gateway.yaml", API_LISTENER), "api.yaml": API_ROUTE}),
}
for name, (broken, healthy) in INCIDENTS.items():
    for variant, files in (("broken", broken), ("healthy", healthy)):
        d = ROOT / name / variant
        d.mkdir(parents=True, exist_ok=True)
        for fn, text in files.items():
            (d / fn).write_text(text)
print(len(INCIDENTS))
