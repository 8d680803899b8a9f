"""A sweep on the real API server (tests/servers/kubeapi.py) reads what its hosts need: narrowed
by --namespace, --selector or host globs, only the Envoy data plane of the Gateways those
hosts attach to, their routes' backends and their Secrets; unnarrowed, every data plane.
The reads are counted from the reader's requests (Requests.get_json, the one door to the
server), the result from what the sweep saw."""

from __future__ import annotations

from typing import Any

import pytest

from edgedoctor.diagnosis.controllers import find_controllers
from edgedoctor.diagnosis.index import ClusterIndex
from edgedoctor.fleet.sweep import SweepOptions, SweepRun
from edgedoctor.kube.reads import Requests
from tests.servers.kubeapi import KubeCluster

NOW = "2026-12-01T00:00:00Z"
TEAMS = ("red", "blue", "green")
OWNER = "gateway.envoyproxy.io/owning-gateway-name"


def _deployment(name: str, ns: str, image: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": image}]}}}}


def edge_objects() -> list[dict[str, Any]]:
    """The Envoy Gateway and cert-manager controllers; per team a Gateway (its namespace `gw-<team>`), its data
    plane in the controller's namespace, a route in `app-<team>` with its backend Service, a
    Certificate for the listener's Secret."""
    out: list[dict[str, Any]] = [
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "eg"},
         "spec": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"}},
        _deployment("envoy-gateway", "envoy-gateway-system", "docker.io/envoyproxy/gateway:v1.9.1",
                    {"app.kubernetes.io/name": "gateway-helm", "control-plane": "envoy-gateway"}),
        # Labelled as its chart does: without it the reader would look across all Deployments.
        _deployment("cert-manager", "cert-manager", "quay.io/jetstack/cert-manager-controller:v1.19.1",
                    {"app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/component": "controller"}),
    ]
    for team in TEAMS:
        gw_ns, app_ns = f"gw-{team}", f"app-{team}"
        owner = {OWNER: team, "gateway.envoyproxy.io/owning-gateway-namespace": gw_ns,
                 "app.kubernetes.io/managed-by": "envoy-gateway"}
        out += [
            {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": team, "namespace": gw_ns},
             "spec": {"gatewayClassName": "eg", "listeners": [
                 {"name": "https", "protocol": "HTTPS", "port": 443, "hostname": f"*.{team}.example.com",
                  "allowedRoutes": {"namespaces": {"from": "All"}},
                  "tls": {"certificateRefs": [{"kind": "Secret", "name": f"{team}-tls"}]}}]}},
            _deployment(f"envoy-{team}", "envoy-gateway-system", "docker.io/envoyproxy/envoy:distroless-v1.36.0", owner),
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"envoy-{team}", "namespace": "envoy-gateway-system",
                                                                 "labels": owner},
             "spec": {"type": "LoadBalancer", "ports": [{"name": "https", "port": 443}], "selector": owner}},
            {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "web", "namespace": app_ns, "labels": {"team": team}},
             "spec": {"parentRefs": [{"name": team, "namespace": gw_ns}], "hostnames": [f"www.{team}.example.com"],
                      "rules": [{"backendRefs": [{"name": "web", "port": 80}]}]}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": app_ns},
             "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}}},
            {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": team, "namespace": gw_ns},
             "spec": {"secretName": f"{team}-tls", "dnsNames": [f"*.{team}.example.com"],
                      "issuerRef": {"name": "le", "kind": "ClusterIssuer", "group": "cert-manager.io"}}},
        ]
    return out


@pytest.fixture
def requests_made(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    seen: list[tuple[str, dict[str, Any]]] = []
    real = Requests.get_json

    def spy(self: Requests, path: str, query: list[tuple[str, Any]], until: float) -> dict[str, Any]:
        seen.append((path, dict(query)))
        return real(self, path, query, until)

    monkeypatch.setattr(Requests, "get_json", spy)
    return seen


def _sweep(cluster: KubeCluster, **narrow: Any) -> SweepRun:
    cluster.reset()
    cluster.load(edge_objects())
    opts = SweepOptions(kubeconfig=str(cluster.kubeconfig("reader")), offline=True, now=NOW, timeout=60, **narrow)
    run = SweepRun(opts)
    run.collect()
    return run


def _planes_read(seen: list[tuple[str, dict[str, Any]]]) -> set[str]:
    """The owner-label selectors of the data-plane reads (a bare key: every data plane)."""
    return {q["labelSelector"] for p, q in seen
            if p.endswith(("/deployments", "/services")) and "gateway.envoyproxy.io/owning" in q.get("labelSelector", "")}


def _named(seen: list[tuple[str, dict[str, Any]]], plural: str) -> set[str]:
    return {"/".join(p.split("/")[-3::2]) for p, _ in seen if f"/{plural}/" in p}


@pytest.mark.parametrize("narrow", [{"namespaces": ["app-red"]}, {"selector": "team=red"},
                                    {"globs": ["www.red.*"]}])
def test_a_narrowed_sweep_reads_only_its_hosts_data_plane(kube_cluster: KubeCluster, requests_made, narrow) -> None:
    run = _sweep(kube_cluster, **narrow)
    (ctx,) = run.contexts
    assert ctx.cluster is not None and ctx.cluster.errors == []
    planes = _planes_read(requests_made)
    assert any("owning-gateway-name=red," in s for s in planes), planes
    assert not any(f"owning-gateway-name={t}," in s for s in planes for t in ("blue", "green")), planes
    assert OWNER not in planes  # never every data plane at once
    # Only the red data plane, route backend and listener Secret came in.
    got = {(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in ctx.cluster.objects
           if o["kind"] in ("Deployment", "Service")}
    assert ("Deployment", "envoy-gateway-system", "envoy-red") in got
    assert ("Service", "envoy-gateway-system", "envoy-red") in got
    assert not {(k, ns, n) for k, ns, n in got if n.startswith(("envoy-blue", "envoy-green"))}
    assert _named(requests_made, "services") == {"app-red/web", "gw-red/red"}
    assert _named(requests_made, "secrets") == {"gw-red/red-tls"}
    # The data plane was read where Envoy Gateway puts it, not across the cluster.
    assert all("/namespaces/" in p for p, q in requests_made if "owning-gateway-name=red," in q.get("labelSelector", ""))
    # The host was diagnosed with its Gateway's data plane in sight.
    (host,) = list(run.results())
    assert host.host == "www.red.example.com" and host.entry.gateways == ["gw-red/red"]


def test_an_unnarrowed_sweep_reads_every_data_plane_at_once(kube_cluster: KubeCluster, requests_made) -> None:
    run = _sweep(kube_cluster)
    (ctx,) = run.contexts
    assert ctx.cluster is not None and ctx.cluster.errors == []
    planes = _planes_read(requests_made)
    assert OWNER in planes and not any("owning-gateway-name=" in s for s in planes), planes
    names = {o["metadata"]["name"] for o in ctx.cluster.objects if o["kind"] == "Deployment"}
    assert {f"envoy-{t}" for t in TEAMS} <= names
    assert _named(requests_made, "secrets") == {f"gw-{t}/{t}-tls" for t in TEAMS}
    assert {h.host for h in run.results()} == {f"www.{t}.example.com" for t in TEAMS}


def _all_deployments_listed(seen: list[tuple[str, dict[str, Any]]]) -> bool:
    return any(p.endswith("/deployments") and not q.get("labelSelector") for p, q in seen)


def _annotated_for_external_dns(annotate: bool) -> list[dict[str, Any]]:
    # external-dns installed by hand: a name and labels no chart gives.
    objs = edge_objects() + [_deployment("dns-sync", "edge-dns", "registry.k8s.io/external-dns/external-dns:v0.15.0",
                                         {"app": "dns-sync"})]
    if annotate:
        for o in objs:
            if o["kind"] == "HTTPRoute" and o["metadata"]["namespace"] == "app-red":
                o["metadata"]["annotations"] = {"external-dns.alpha.kubernetes.io/ttl": "60"}
    return objs


@pytest.mark.parametrize("annotate", [True, False])
def test_external_dns_without_chart_labels_is_found_when_objects_are_annotated_for_it(
        kube_cluster: KubeCluster, requests_made, annotate: bool) -> None:
    kube_cluster.reset()
    kube_cluster.load(_annotated_for_external_dns(annotate))
    opts = SweepOptions(kubeconfig=str(kube_cluster.kubeconfig("reader")), offline=True, now=NOW, timeout=60,
                        globs=["www.red.*"])
    run = SweepRun(opts)
    run.collect()
    (ctx,) = run.contexts
    assert ctx.cluster is not None and ctx.cluster.errors == []
    found = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in ctx.cluster.objects if o["kind"] == "Deployment"}
    if annotate:
        # One look across all Deployments finds it (the engine knows it by its image).
        assert _all_deployments_listed(requests_made)
        assert ("edge-dns", "dns-sync") in found
        (edns,) = find_controllers(ClusterIndex(ctx.cluster))["external-dns"]
        assert (edns.namespace, edns.name, edns.version) == ("edge-dns", "dns-sync", (0, 15, 0))
    else:
        # Nothing asks for external-dns: no cluster-wide list (the healthy twin of the read).
        assert not _all_deployments_listed(requests_made)
        assert ("edge-dns", "dns-sync") not in found
