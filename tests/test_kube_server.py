"""The real control plane of the tests (tests/servers/kubeapi.py) does what the other tests
rely on: the pinned version, the users and their rights, the CRDs, the controllers, and a
recording loaded as a cluster would hold it."""

from __future__ import annotations

import time

import pytest

from tests.casekit import server_objects
from tests.servers.kubeapi import KubeAPI, KubeCluster, KubeError
from tests.test_playbooks_plan import case_edits, objects


def as_user(cluster: KubeCluster, user: str) -> KubeAPI:
    return KubeAPI(cluster.server, cluster.users[user].token, cluster.ca_file)


def test_version_is_the_pinned_release(kube_cluster: KubeCluster) -> None:
    version = kube_cluster.api.request("GET", "/version")
    assert (version["gitVersion"], version["major"], version["minor"]) == ("v1.34.4", "1", "34")


def test_crds_of_the_edge_stack_are_served(kube_cluster: KubeCluster) -> None:
    for kind, api_version in [("Gateway", "gateway.networking.k8s.io/v1"),
                              ("HTTPRoute", "gateway.networking.k8s.io/v1"),
                              ("ReferenceGrant", "gateway.networking.k8s.io/v1beta1"),
                              ("Certificate", "cert-manager.io/v1"),
                              ("Challenge", "acme.cert-manager.io/v1"),
                              ("EnvoyProxy", "gateway.envoyproxy.io/v1alpha1"),
                              ("ClientTrafficPolicy", "gateway.envoyproxy.io/v1alpha1")]:
        res = kube_cluster.api.resource(kind, api_version)
        assert res.namespaced
    assert "status" in kube_cluster.api.resource("Order", "acme.cert-manager.io/v1").subresources


def test_users_have_exactly_their_roles(kube_cluster: KubeCluster) -> None:
    view = as_user(kube_cluster, "view")
    try:
        # view reads the built-in kinds (its rules come from the aggregation controller) ...
        assert isinstance(view.list("Service"), list)
        # ... but not Secrets, not the CRDs' kinds (no aggregate-to-view role ships with
        # the CRDs alone), and writes nothing.
        for kind in ("Secret", "Gateway", "Certificate"):
            with pytest.raises(KubeError) as denied:
                view.list(kind)
            assert denied.value.status == 403, kind
        with pytest.raises(KubeError) as denied:
            view.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "nope"}})
        assert denied.value.status == 403
        review = view.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                              body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        assert review["status"]["userInfo"]["username"] == kube_cluster.users["view"].name
    finally:
        view.close()


def test_unknown_token_is_refused(kube_cluster: KubeCluster) -> None:
    stranger = KubeAPI(kube_cluster.server, "not-a-token", kube_cluster.ca_file)
    try:
        with pytest.raises(KubeError) as denied:
            stranger.list("Namespace")
        assert denied.value.status == 401
    finally:
        stranger.close()


def test_kubeconfigs_are_private_files(kube_cluster: KubeCluster) -> None:
    path = kube_cluster.kubeconfig("view")
    assert path.stat().st_mode & 0o077 == 0
    assert kube_cluster.users["view"].token in path.read_text()


def holds(have: object, want: object) -> bool:
    """WANT is in HAVE: the server may add its defaults (a load balancer's ipMode) and
    drops empty strings of built-in kinds (omitempty)."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(holds(have.get(k), v) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(have) == len(want) and all(
            holds(h, w) for h, w in zip(have, want, strict=True))
    return have == want or (want == "" and have is None)


def test_load_a_recording_as_a_cluster_holds_it(kube_cluster: KubeCluster) -> None:
    kube_cluster.reset()
    objs = objects(case_edits("cert-cloudflare-7003-cleanup"))
    # One Challenge deleted while its finalizer holds it, as a stuck cleanup leaves it.
    chal = next(o for o in objs if o["kind"] == "Challenge")
    chal["metadata"]["deletionTimestamp"] = "2026-12-02T02:00:00Z"
    assert chal["metadata"].get("finalizers")
    objs = server_objects(objs)
    loaded = kube_cluster.load(objs)
    api = kube_cluster.api
    recorded = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in objs}
    assert set(loaded.objects) == set(recorded)
    for key, obj in recorded.items():
        kind, ns, name = key
        live = api.get(kind, ns or None, name, obj["apiVersion"])
        assert live is not None, key
        # statuses went through the status subresource
        if obj.get("status") and "status" in api.resource(kind, obj["apiVersion"]).subresources:
            assert holds(live.get("status"), obj["status"]), key
        # owners point at the new objects
        for ref in live["metadata"].get("ownerReferences") or []:
            owners = [o for o in loaded.objects.values() if o["metadata"]["uid"] == ref["uid"]]
            assert [o["metadata"]["name"] for o in owners] == [ref["name"]], key
        # a recorded terminating object is terminating
        assert bool(live["metadata"].get("deletionTimestamp")) == bool(
            obj["metadata"].get("deletionTimestamp")), key
    owned = [o for o in objs if o["metadata"].get("ownerReferences")]
    assert owned, "the incident has owned objects: the remap is exercised"


def test_garbage_collector_cascades_and_reset_cleans(kube_cluster: KubeCluster) -> None:
    kube_cluster.reset()
    api = kube_cluster.api
    api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gc-test"}})
    owner = api.create({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "owner", "namespace": "gc-test"}})
    api.create({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "owned", "namespace": "gc-test", "ownerReferences": [
                    {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                     "uid": owner["metadata"]["uid"]}]}})
    api.delete("ConfigMap", "gc-test", "owner")
    deadline = time.monotonic() + 30
    while api.get("ConfigMap", "gc-test", "owned") is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert api.get("ConfigMap", "gc-test", "owned") is None
    api.patch("Namespace", None, "gc-test", {"metadata": {"labels": {"team": "a"}}})
    kube_cluster.reset()
    assert api.list("ConfigMap", "gc-test") == []
    assert api.get("Namespace", None, "gc-test")["metadata"]["labels"] == {
        "kubernetes.io/metadata.name": "gc-test"}
