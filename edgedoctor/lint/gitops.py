"""Flux HelmReleases and Argo CD Applications as the controllers they deploy.

A rendered tree often holds a controller only as a HelmRelease (Flux) or an Application
(Argo CD) with values, not as the Deployment its chart will render. For the charts of the
edge (cert-manager, external-dns, k8s_gateway, Envoy Gateway), the flags that matter are
turned into the Deployment (and, for k8s_gateway, the Corefile ConfigMap) the chart would
render, so the engine reads them exactly as it reads a cluster's: version from the image
tag, external-dns sources and filters from the args, k8s_gateway's watched resources from
the Corefile. Values the chart does not expose are not guessed.
"""

from __future__ import annotations

import re
from typing import Any

from edgedoctor.diagnosis.index import as_dict, as_list, name_of, ns_of

# chart name -> role; the charts people install (jetstack, kubernetes-sigs, bitnami,
# ori-edge and the maintained k8s_gateway fork, Envoy Gateway's OCI chart).
_CHARTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(^|/)cert-manager$"), "cert-manager"),
    (re.compile(r"(^|/)external-dns$"), "external-dns"),
    (re.compile(r"(^|/)k8s[-_]gateway$"), "k8s-gateway"),
    (re.compile(r"(^|/)gateway-helm$"), "envoy-gateway"),
)
_IMAGES = {
    "cert-manager": "quay.io/jetstack/cert-manager-controller",
    "external-dns": "registry.k8s.io/external-dns/external-dns",
    "k8s-gateway": "quay.io/k8s-gateway/k8s_gateway",
    "envoy-gateway": "docker.io/envoyproxy/gateway",
}
# Names, on a rendered object, the HelmRelease/Application it stands for.
RENDERED_FROM = "edgedoctor.io/rendered-from"
_ORI_EDGE = re.compile(r"ori-?edge", re.I)
_VERSION = re.compile(r"^v?\d+\.\d+(\.\d+)?")


def chart_role(chart: str) -> str | None:
    chart = chart.strip().lower()
    for pat, role in _CHARTS:
        if pat.search(chart):
            return role
    return None


def _set_path(values: dict[str, Any], dotted: str, value: Any) -> None:
    """Helm --set semantics for the simple cases: a.b=x, a.b[0]=x, a\\.b=x."""
    parts = re.split(r"(?<!\\)\.", dotted)
    cur: Any = values
    for i, raw in enumerate(parts):
        key = raw.replace("\\.", ".")
        m = re.fullmatch(r"(.+)\[(\d+)\]", key)
        last = i == len(parts) - 1
        if m:
            key, idx = m.group(1), int(m.group(2))
            lst = cur.setdefault(key, [])
            if not isinstance(lst, list):
                lst = cur[key] = []
            while len(lst) <= idx:
                lst.append({} if not last else None)
            if last:
                lst[idx] = value
                return
            if not isinstance(lst[idx], dict):
                lst[idx] = {}
            cur = lst[idx]
            continue
        if last:
            cur[key] = value
            return
        nxt = cur.get(key)
        if not isinstance(nxt, dict):
            nxt = cur[key] = {}
        cur = nxt


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(out.get(k), dict) and isinstance(v, dict) else v
    return out


def _parse_values_text(text: Any) -> dict[str, Any]:
    if not isinstance(text, str) or not text.strip():
        return {}
    import yaml

    from edgedoctor.snapshot import yaml_loader

    try:
        v = yaml.load(text, Loader=yaml_loader())
    except yaml.YAMLError:
        return {}
    return v if isinstance(v, dict) else {}


def releases(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The chart releases an object declares: role, chart, version, values, namespace."""
    kind = obj.get("kind")
    spec = as_dict(obj.get("spec"))
    out = []
    if kind == "HelmRelease":
        chart = as_dict(as_dict(spec.get("chart")).get("spec"))
        name = str(chart.get("chart") or "")
        if not name:
            # chartRef (OCIRepository / HelmChart): the chart is named by the source.
            name = str(as_dict(spec.get("chartRef")).get("name") or "")
        out.append({
            "chart": name,
            "version": str(chart.get("version") or ""),
            "values": as_dict(spec.get("values")),
            "namespace": str(spec.get("targetNamespace") or ns_of(obj)),
            "name": str(spec.get("releaseName") or name_of(obj)),
        })
    elif kind == "Application" and str(obj.get("apiVersion", "")).startswith("argoproj.io/"):
        sources = [as_dict(s) for s in as_list(spec.get("sources"))] or [as_dict(spec.get("source"))]
        dest_ns = str(as_dict(spec.get("destination")).get("namespace") or ns_of(obj))
        for src in sources:
            name = str(src.get("chart") or src.get("path") or "").rstrip("/").rsplit("/", 1)[-1]
            helm = as_dict(src.get("helm"))
            values = _merge(_parse_values_text(helm.get("values")), as_dict(helm.get("valuesObject")))
            for p in as_list(helm.get("parameters")):
                if isinstance(p, dict) and p.get("name"):
                    _set_path(values, str(p["name"]), p.get("value"))
            out.append({
                "chart": name,
                "version": str(src.get("targetRevision") or ""),
                "values": values,
                "namespace": dest_ns,
                "name": str(helm.get("releaseName") or name_of(obj)),
            })
    for r in out:
        r["role"] = chart_role(r["chart"])
    return [r for r in out if r["role"]]


def _image(role: str, release: dict[str, Any]) -> str:
    img = as_dict(release["values"].get("image"))
    repo = str(img.get("repository") or _IMAGES[role])
    if img.get("registry") and img.get("repository"):
        repo = f"{img['registry']}/{img['repository']}"
    tag = str(img.get("tag") or "")
    if not tag and role in ("cert-manager", "envoy-gateway") and _VERSION.match(release["version"]):
        # These charts are versioned with the app: chart v1.16.0 runs controller v1.16.0.
        tag = release["version"] if release["version"].startswith("v") else "v" + release["version"]
    return f"{repo}:{tag}" if tag else repo


def _edns_args(values: dict[str, Any]) -> list[str]:
    args: list[str] = []
    sources = values.get("sources")
    # Both charts default to service and ingress.
    for s in as_list(sources) if sources is not None else ["service", "ingress"]:
        args.append(f"--source={s}")
    for key, flag in (("domainFilters", "--domain-filter"), ("excludeDomains", "--exclude-domains"),
                      ("regexDomainFilter", "--regex-domain-filter")):
        v = values.get(key)
        for d in as_list(v) if isinstance(v, list) else ([v] if v else []):
            args.append(f"{flag}={d}")
    for key, flag in (("txtOwnerId", "--txt-owner-id"), ("txtPrefix", "--txt-prefix"), ("txtSuffix", "--txt-suffix"),
                      ("annotationFilter", "--annotation-filter"), ("labelFilter", "--label-filter"),
                      ("policy", "--policy"), ("registry", "--registry"), ("annotationPrefix", "--annotation-prefix")):
        v = values.get(key)
        if v not in (None, ""):
            args.append(f"{flag}={v}")
    extra = values.get("extraArgs")
    if isinstance(extra, list):
        args += [str(a) for a in extra]
    elif isinstance(extra, dict):
        for k, v in extra.items():
            for x in as_list(v) if isinstance(v, list) else [v]:
                args.append(f"--{k}" if x in (None, "", True) else f"--{k}={x}")
    return args


def _k8s_gateway_corefile(values: dict[str, Any], fork: bool) -> str:
    domain = values.get("domain")
    zones = " ".join(str(d) for d in as_list(domain)) if isinstance(domain, list) else str(domain or "")
    res = values.get("watchedResources")
    if res is None:
        res = ["Ingress", "Service"] if fork else []
    line = f"        resources {' '.join(str(r) for r in res)}\n" if res else ""
    return f".:1053 {{\n    errors\n    ready\n    k8s_gateway {zones} {{\n{line}    }}\n}}\n"


def synthesize(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The controller objects a HelmRelease/Application would render (may be empty)."""
    out = []
    origin = f"{obj.get('kind')} {ns_of(obj) + '/' if ns_of(obj) else ''}{name_of(obj)}"
    for r in releases(obj):
        role = r["role"]
        values = r["values"]
        image = _image(role, r)
        args: list[str] = []
        if role == "external-dns":
            args = _edns_args(values)
        replicas = values.get("replicaCount", 1)
        labels = {"app.kubernetes.io/name": {"k8s-gateway": "k8s-gateway", "envoy-gateway": "gateway-helm"}.get(role, role),
                  "app.kubernetes.io/instance": r["name"]}
        if role == "cert-manager":
            labels["app.kubernetes.io/component"] = "controller"
        ns = r["namespace"]
        name = r["name"]
        dep = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": labels, "annotations": {RENDERED_FROM: origin}},
            "spec": {
                "replicas": replicas if isinstance(replicas, int) else 1,
                "template": {"spec": {"containers": [{"name": role, "image": image, "args": args}]}},
            },
        }
        out.append(dep)
        if role == "k8s-gateway":
            fork = not _ORI_EDGE.search(image)
            out.append({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": ns, "labels": labels, "annotations": {RENDERED_FROM: origin}},
                "data": {"Corefile": _k8s_gateway_corefile(values, fork)},
            })
    return out
