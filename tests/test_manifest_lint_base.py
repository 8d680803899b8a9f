"""`lint --base`: the manifests over a recorded cluster, per host before → after, and the
exit status from the worst new problem."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import yaml

from edgedoctor.app.lint import lint_command
from edgedoctor.recording import load_recording

RECORDINGS = Path(__file__).resolve().parent.parent / "recordings"


def _objects(recording: str, kind: str, name: str) -> dict:
    ev, _ = load_recording(RECORDINGS / recording)
    o = next(o for o in ev.cluster.objects if o["kind"] == kind and o["metadata"]["name"] == name)
    o = copy.deepcopy(o)
    o.pop("status", None)
    for k in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields"):
        o["metadata"].pop(k, None)
    return o


def _write(tmp_path: Path, *objects: dict) -> str:
    p = tmp_path / "rendered.yaml"
    p.write_text(yaml.safe_dump_all(list(objects), sort_keys=False))
    return str(p)


def _hosts(out: str) -> dict:
    doc = json.loads(out)
    assert doc["kind"] == "lint" and doc["schema_version"] == 1
    return {h["host"]: h for h in doc["hosts"]}


def test_a_change_that_breaks_a_host(tmp_path):
    route = _objects("healthy-single-gateway.yaml", "HTTPRoute", "storefront")
    route["spec"]["parentRefs"][0]["sectionName"] = "https-old"
    out, rc = lint_command([_write(tmp_path, route)], base=str(RECORDINGS / "healthy-single-gateway.yaml"), output="json")
    h = _hosts(out)["shop.northwind.example"]
    assert h["before"] == {"verdict": "ok", "code": None}
    assert (h["verdict"], h["root_cause"]) == ("critical", {"code": "route-not-accepted"})
    f = h["findings"][0]
    assert (f["file"], f["line"], f["object"]) == (str(tmp_path / "rendered.yaml"), 1, "HTTPRoute shop/storefront")
    assert rc == 2
    text, _ = lint_command([_write(tmp_path, route)], base=str(RECORDINGS / "healthy-single-gateway.yaml"))
    assert "shop.northwind.example: ok → critical route-not-accepted" in text
    assert text.splitlines()[0] == "CRITICAL lint: 1 hosts changed, 1 worse, 0 better"


def test_a_change_that_fixes_a_host(tmp_path):
    base = str(RECORDINGS / "route-not-accepted-sectionname.yaml")
    route = _objects("route-not-accepted-sectionname.yaml", "HTTPRoute", "crm")
    unchanged, rc0 = lint_command([_write(tmp_path, route)], base=base, output="json")
    h0 = _hosts(unchanged)["crm.litware.example"]
    # The same spec: the same problem, nothing new, so nothing blocks the merge.
    assert (h0["before"]["code"], h0["root_cause"]["code"], rc0) == ("route-not-accepted", "route-not-accepted", 0)
    route["spec"]["parentRefs"][0]["sectionName"] = "websecure"
    out, rc = lint_command([_write(tmp_path, route)], base=base, output="json")
    h = _hosts(out)["crm.litware.example"]
    assert h["before"] == {"verdict": "critical", "code": "route-not-accepted"}
    assert (h["verdict"], h["findings"]) == ("ok", [])
    assert rc == 0
    text, _ = lint_command([_write(tmp_path, route)], base=base)
    assert "crm.litware.example: critical route-not-accepted → ok" in text
    assert text.splitlines()[0] == "OK lint: 1 hosts changed, 0 worse, 1 better"


def test_a_new_host_has_no_before(tmp_path):
    route = _objects("healthy-single-gateway.yaml", "HTTPRoute", "storefront")
    route["metadata"]["name"] = "blog"
    route["spec"]["hostnames"] = ["blog.northwind.example"]
    out, rc = lint_command([_write(tmp_path, route)], base=str(RECORDINGS / "healthy-single-gateway.yaml"), output="json")
    hosts = _hosts(out)
    assert hosts["blog.northwind.example"]["before"] is None
    assert hosts["blog.northwind.example"]["verdict"] == "ok", hosts["blog.northwind.example"]["findings"]
    # The existing host is untouched and not reported.
    assert "shop.northwind.example" not in hosts
    assert rc == 0


def test_a_gateway_change_rejudges_the_routes_on_it(tmp_path):
    gw = _objects("healthy-single-gateway.yaml", "Gateway", "public")
    for ls in gw["spec"]["listeners"]:
        if ls["protocol"] == "HTTPS":
            ls["allowedRoutes"] = {"namespaces": {"from": "Same"}}
    out, rc = lint_command([_write(tmp_path, gw)], base=str(RECORDINGS / "healthy-single-gateway.yaml"), output="json")
    h = _hosts(out)["shop.northwind.example"]
    assert (h["before"]["verdict"], h["root_cause"]["code"], rc) == ("ok", "route-not-accepted", 2)
    assert "NotAllowedByListeners" in h["findings"][0]["message"]


def test_live_context_is_the_base(tmp_path):
    # The current state read from an API server (the fake one, over real HTTP), never written to.
    from tests import casekit
    from tests.fakeapi import FakeAPI

    objs = casekit.apply_edits(casekit.base_objects(), {})
    route = copy.deepcopy(next(o for o in objs if o["kind"] == "HTTPRoute" and o["metadata"]["name"] == "app"))
    route.pop("status", None)
    route["spec"]["parentRefs"][0]["namespace"] = "shop"  # no Gateway there
    with FakeAPI(objs) as api:
        kc = api.kubeconfig(tmp_path / "config")
        out, rc = lint_command([_write(tmp_path, route)], context="fake", kubeconfig=str(kc), output="json")
        assert api.writes == []
    doc = json.loads(out)
    assert doc["base"]["kind"] == "live"
    h = {x["host"]: x for x in doc["hosts"]}["app.example.com"]
    assert h["before"] is not None
    # The landing route (*.example.com) now answers for the host: the change breaks it.
    codes = [f["code"] for f in h["findings"]]
    assert "route-shadowed-by-wildcard" in codes, codes
    assert rc == 2


def test_live_base_reads_the_services_the_change_points_at(tmp_path):
    # The live reader reads Services by name; a Service only the changed route names is read too.
    from tests import casekit
    from tests.fakeapi import FakeAPI

    objs = casekit.apply_edits(casekit.base_objects(), {})
    route = copy.deepcopy(next(o for o in objs if o["kind"] == "HTTPRoute" and o["metadata"]["name"] == "app"))
    route.pop("status", None)
    route["spec"]["rules"][0]["backendRefs"][0]["name"] = "app-v2"
    port = route["spec"]["rules"][0]["backendRefs"][0].get("port", 80)
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "app-v2", "namespace": "shop"},
           "spec": {"selector": {"app": "app-v2"}, "ports": [{"port": port}]}}
    eps = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
           "metadata": {"name": "app-v2-abcde", "namespace": "shop", "labels": {"kubernetes.io/service-name": "app-v2"}},
           "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.9"], "conditions": {"ready": True}}]}
    with FakeAPI(objs + [svc, eps]) as api:
        kc = api.kubeconfig(tmp_path / "config")
        out, rc = lint_command([_write(tmp_path, route)], context="fake", kubeconfig=str(kc), output="json")
        assert any("/services/app-v2" in r["path"] for r in api.requests)
    h = {x["host"]: x for x in json.loads(out)["hosts"]}["app.example.com"]
    assert "route-backend-unresolved" not in [f["code"] for f in h["findings"]], h
    assert rc == 0, h
