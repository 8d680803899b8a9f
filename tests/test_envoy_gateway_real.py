"""Gateway API statuses written by the real Envoy Gateway controller (v1.9.1, built by
.ci/kube/build.sh; tests/servers/envoygateway.py runs it in network and mount namespaces of
its own against a control plane of its own), judged by `edgedoctor check` as it judges a
cluster's.

Each scenario is an incident of the engine cases (tests/cases/) whose breakage is in the
specs: its objects are loaded with no GatewayClass, Gateway or route status and without
the data plane's Service of the base (the controller makes its own). Envoy Gateway then
writes every one of those statuses; nothing here writes them. What does not run here is
played, and only that: the cloud load balancer (an ingress address on the controller's
LoadBalancer Service) and the kubelets (available replicas on its data plane Deployment),
from which the controller computes Programmed; cert-manager's and the other Deployments'
statuses stay the cases' fixtures. Each scenario gets a controller process of its own
(EnvoyGatewayWorld.restart_controller says why), about 3 s.

The root cause `edgedoctor check HOST --kubeconfig` names from the controller's statuses
must be the case's, and, for the app-routing incidents, the one `edgedoctor lint` predicts
from the same manifests with no status at all (lint computes what the controller would
write): the engine reads the statuses as the controller writes them, reason strings and
condition placement included.

Time: the server stamps creationTimestamp (now); `--now` is two hours later, as in the
other real-server tests, unless a case is judged at its own instant.

Not here: the `NoReadyListeners` route reason. Envoy Gateway wrote it up to v1.8.1 when
every listener a route selected was not ready; v1.8.2 and v1.9.0 removed it (PR #9129). On
v1.9.1 a listener whose Secret is missing leaves the route Accepted, and the engine must
still blame the Secret (test_missing_secret_*); the old reason is covered by the fixture
cases cert-secret-missing-eg17-noreadylisteners and -noreadylisteners-only.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgedoctor.cli import main
from tests import casekit
from tests.casekit import server_objects
from tests.servers.envoygateway import (
    CONTROLLER_NAME,
    EnvoyGatewayWorld,
    condition,
    require_envoy_gateway,
)
from tests.servers.kubeapi import KubeCluster, _workdir
from tests.servers.pki import TestCA
from tests.test_playbooks_kube import later
from tests.test_playbooks_plan import HOST

CASES = {c["name"]: c for c in casekit.load_cases()}
ADDRESS = "203.0.113.10"  # the base's load balancer address (its DNS and external-dns agree)
GATEWAY = ("gateway", "external")
# What the controller writes: never loaded, always its own.
CONTROLLER_STATUS = ("GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute")
# Incidents the controller's statuses alone make (the specs are broken), with the engine's
# own expectation; lint predicts the same from the manifests.
APP_ROUTING = ["route-not-accepted-namespace", "route-not-accepted", "route-backend-unresolved",
               "route-backend-cross-namespace", "route-shadowed-by-wildcard", "route-conflict", "route-missing",
               "listener-no-match"]
# Their host is named by no route or listener: lint reports only the hosts manifests name.
UNNAMED_HOST = {"route-missing", "listener-no-match"}
# Incidents where the listener's Secret is refused (statuses of the listener: the
# controller's; of cert-manager's objects: the case's).
CERT = ["cert-secret-invalid-empty-key", "cert-secret-missing", "cert-refgrant-missing", "cert-secret-name-mismatch"]


@pytest.fixture(scope="module")
def eg() -> Iterator[EnvoyGatewayWorld]:
    require_envoy_gateway()
    workdir = _workdir()
    started = time.monotonic()
    world = EnvoyGatewayWorld.start(workdir)
    print(f"\nEnvoy Gateway world: control plane {world.cluster.start_seconds:.1f} s, "
          f"controller ready {world.ready_seconds:.1f} s, total {time.monotonic() - started:.1f} s")
    try:
        yield world
    finally:
        world.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------- the objects

def _is_data_plane(o: dict[str, Any]) -> bool:
    labels = (o.get("metadata") or {}).get("labels") or {}
    return labels.get("app.kubernetes.io/managed-by") == "envoy-gateway"


def _tls_pair() -> tuple[str, str]:
    """A certificate for the base's names with the base Certificate's validity (so the
    cert-manager fixtures still describe it), and its key: the controller refuses a key that
    does not match, and a certificate outside its validity now."""
    nb = dt.datetime(2026, 11, 20, 2, tzinfo=dt.timezone.utc)
    leaf = TestCA(now=nb).leaf(["*.example.com", "example.com"], not_before=nb,
                               not_after=dt.datetime(2027, 2, 18, 2, tzinfo=dt.timezone.utc))
    return leaf.fullchain_pem, leaf.key_pem


def scenario(name: str | None) -> list[dict[str, Any]]:
    """The case's objects as manifests would hold them for the controller: no status of
    the kinds it writes, no data plane of the base. The base's TLS Secrets get a real
    certificate and its key (the base's key is a placeholder), then the case's edits apply
    (an edited key stays the case's)."""
    crt, key = _tls_pair()
    base = casekit.base_objects()
    for o in base:
        if o["kind"] == "Secret" and o.get("type") == "kubernetes.io/tls":
            o["data"] = {"tls.crt": base64.b64encode(crt.encode()).decode(),
                         "tls.key": base64.b64encode(key.encode()).decode()}
    case = CASES[name] if name else {}
    objs = casekit.apply_edits(base, casekit.expand(copy.deepcopy(case.get("broken") or {})))
    objs = [o for o in objs if not _is_data_plane(o)]
    for o in objs:
        if o["kind"] in CONTROLLER_STATUS:
            o.pop("status", None)
    return server_objects(objs)


def _parent_written(route: dict[str, Any], gateways: set[tuple[str, str]]) -> bool:
    """Every parentRef naming a Gateway that exists has the controller's entry."""
    ns = route["metadata"]["namespace"]
    entries = [(p.get("parentRef") or {}) for p in (route.get("status") or {}).get("parents") or []
               if p.get("controllerName") == CONTROLLER_NAME]
    for ref in route["spec"].get("parentRefs") or []:
        key = (ref.get("namespace") or ns, ref["name"])
        if key in gateways and not any(e.get("name") == ref["name"] and e.get("sectionName") == ref.get("sectionName")
                                       for e in entries):
            return False
    return True


def controller_wrote(cluster: KubeCluster, *, programmed_reason: str) -> bool:
    """The controller has written the status of every object it owns: its GatewayClasses
    (a new class starts with the CRD's default "Waiting for controller"), the Gateways
    (at their generation, every listener) and every route's entry for an existing Gateway."""
    for gc in cluster.api.list("GatewayClass"):
        accepted = condition(gc, "Accepted")
        if gc["spec"].get("controllerName") == CONTROLLER_NAME and (
                accepted.get("reason") == "Pending" or accepted.get("observedGeneration") != gc["metadata"].get("generation")):
            return False
    gateways = {(g["metadata"]["namespace"], g["metadata"]["name"]): g for g in cluster.api.list("Gateway")}
    for gw in gateways.values():
        prog = condition(gw, "Programmed")
        if prog.get("observedGeneration") != gw["metadata"].get("generation"):
            return False
        if len((gw.get("status") or {}).get("listeners") or []) != len(gw["spec"]["listeners"]):
            return False
    if condition(gateways.get(GATEWAY), "Programmed").get("reason") != programmed_reason:
        return False
    return all(_parent_written(r, set(gateways)) for r in cluster.api.list("HTTPRoute"))


def load(eg: EnvoyGatewayWorld, objs: list[dict[str, Any]], *, address: str | None = ADDRESS,
         ready: int = 1) -> float:
    """Load OBJS, play the load balancer (ADDRESS, None: it assigns none) and the kubelets
    (READY replicas available), wait for the controller's statuses. Returns the seconds the
    controller took."""
    eg.cluster.reset()
    eg.restart_controller()  # see its docstring: no status remembered from another scenario
    eg.cluster.load(objs)
    started = time.monotonic()
    eg.play_infrastructure(*GATEWAY, address=address, ready=ready)
    reason = "AddressNotAssigned" if address is None else "Programmed" if ready else "NoResources"
    eg.settle(lambda c: controller_wrote(c, programmed_reason=reason), f"Programmed={reason} and every route's status")
    return time.monotonic() - started


# ---------------------------------------------------------------- edgedoctor

def check(eg: EnvoyGatewayWorld, capsys: Any, host: str = HOST, now: str | None = None) -> dict[str, Any]:
    capsys.readouterr()
    main(["check", host, "--kubeconfig", str(eg.cluster.kubeconfig("reader")), "--offline",
          "--now", now or later(), "-o", "json", "--timeout", "30"])
    out = capsys.readouterr().out
    return json.loads(out)


def lint(objs: list[dict[str, Any]], tmp: Path, capsys: Any, host: str = HOST) -> dict[str, Any] | None:
    """`edgedoctor lint` on the same manifests, every status dropped (as in a repository):
    its report of HOST, None when the manifests do not name it."""
    bare = []
    for o in copy.deepcopy(objs):
        o.pop("status", None)
        bare.append(o)
    path = tmp / "manifests.yaml"
    path.write_text(yaml.safe_dump_all(bare))
    capsys.readouterr()
    main(["lint", str(path), "-o", "json"])
    report = json.loads(capsys.readouterr().out)
    return next((h for h in report["hosts"] if h["host"] == host), None)


def root(report: dict[str, Any]) -> str | None:
    return (report.get("root_cause") or {}).get("code")


def codes(report: dict[str, Any], category: str | None = None) -> list[str]:
    return [f["code"] for f in report["findings"] if category is None or f["category"] == category]


def node(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(n for n in report["tree"] if n["node"] == name)


def https_listener(eg: EnvoyGatewayWorld) -> dict[str, Any]:
    gw = eg.cluster.api.get("Gateway", *GATEWAY)
    return next(ls for ls in gw["status"]["listeners"] if ls["name"] == "https")


def app_route_parent(eg: EnvoyGatewayWorld) -> dict[str, Any]:
    route = eg.cluster.api.get("HTTPRoute", "shop", "app")
    return next(p for p in route["status"]["parents"] if p["controllerName"] == CONTROLLER_NAME)


def cond_of(entry: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in entry.get("conditions") or [] if c["type"] == type_), {})


# ---------------------------------------------------------------- the healthy twin

def test_healthy_twin_the_controller_accepts_and_edgedoctor_finds_no_routing_cause(eg, capsys, tmp_path):
    objs = scenario(None)
    load(eg, objs)
    gw = eg.cluster.api.get("Gateway", *GATEWAY)
    assert condition(gw, "Programmed")["status"] == "True", gw["status"]
    assert [a["value"] for a in gw["status"]["addresses"]] == [ADDRESS]
    assert cond_of(app_route_parent(eg), "Accepted")["status"] == "True"
    assert cond_of(https_listener(eg), "ResolvedRefs")["status"] == "True", https_listener(eg)
    report = check(eg, capsys)
    assert codes(report, "app-routing") == [], report["findings"]
    assert root(report) is None, report["root_cause"]
    for name in ("gateway", "listener", "route", "secret"):
        assert node(report, name)["status"] == "pass", node(report, name)
    predicted = lint(objs, tmp_path, capsys)
    assert predicted is not None and root(predicted) is None, predicted


# ---------------------------------------------------------------- app-routing incidents

@pytest.mark.parametrize("name", APP_ROUTING)
def test_app_routing_incident_from_the_controllers_statuses(eg, capsys, tmp_path, name):
    case = CASES[name]
    host = case.get("host") or HOST
    objs = scenario(name)
    load(eg, objs)
    report = check(eg, capsys, host)
    expected = case["expect"]["root_cause"]
    assert root(report) == expected, (report["root_cause"], report["findings"])
    assert report["category"] == case["expect"].get("category", "app-routing")
    for absent in case["expect"].get("absent") or []:
        assert absent not in codes(report)
    # The engine reads the controller's words as lint predicts them with no status at all.
    predicted = lint(objs, tmp_path, capsys, host)
    if name in UNNAMED_HOST:
        assert predicted is None
    else:
        assert predicted is not None and root(predicted) == expected, predicted


def test_not_allowed_by_listeners_is_written_and_named(eg, capsys):
    """The route's namespace is not admitted by the listener's selector: the controller
    writes Accepted=False NotAllowedByListeners, which edgedoctor names and quotes."""
    load(eg, scenario("route-not-accepted-namespace"))
    accepted = cond_of(app_route_parent(eg), "Accepted")
    assert (accepted["status"], accepted["reason"]) == ("False", "NotAllowedByListeners"), accepted
    report = check(eg, capsys)
    assert root(report) == "route-not-accepted"
    finding = next(f for f in report["findings"] if f["code"] == "route-not-accepted")
    assert "NotAllowedByListeners" in finding["message"], finding
    assert node(report, "route")["status"] == "fail"


# ---------------------------------------------------------------- the listener's Secret

@pytest.mark.parametrize("name", CERT)
def test_listener_secret_incident_from_the_controllers_statuses(eg, capsys, name):
    case = CASES[name]
    load(eg, scenario(name))
    resolved = cond_of(https_listener(eg), "ResolvedRefs")
    assert resolved["status"] == "False", resolved
    report = check(eg, capsys, now=case.get("now"))
    assert root(report) == case["expect"]["root_cause"], (report["root_cause"], report["findings"])
    for absent in (case["expect"].get("absent") or []) + ["route-not-accepted"]:
        assert absent not in codes(report)


def test_empty_key_is_an_invalid_secret_not_a_missing_one(eg, capsys):
    load(eg, scenario("cert-secret-invalid-empty-key"))
    resolved = cond_of(https_listener(eg), "ResolvedRefs")
    assert resolved["reason"] == "InvalidCertificateRef", resolved
    assert "must contain tls.crt and tls.key" in resolved["message"], resolved
    report = check(eg, capsys)
    assert root(report) == "cert-secret-invalid"
    assert "cert-secret-missing" not in codes(report)
    assert node(report, "secret")["status"] == "fail", node(report, "secret")


def test_missing_secret_leaves_the_route_accepted_on_v1_9_and_is_still_the_cause(eg, capsys):
    """v1.9 no longer writes NoReadyListeners on the route (see the module's docstring): the
    route is Accepted, the listener says the Secret does not exist."""
    case = CASES["cert-secret-missing"]
    load(eg, scenario("cert-secret-missing"))
    resolved = cond_of(https_listener(eg), "ResolvedRefs")
    assert (resolved["reason"], "does not exist" in resolved["message"]) == ("InvalidCertificateRef", True), resolved
    accepted = cond_of(app_route_parent(eg), "Accepted")
    assert accepted["status"] == "True", accepted
    report = check(eg, capsys, now=case["now"])
    assert root(report) == "cert-secret-missing"
    assert "route-not-accepted" not in codes(report)


# ---------------------------------------------------------------- no data plane here

def test_no_load_balancer_address_is_gateway_no_address(eg, capsys):
    """Nothing assigns the LoadBalancer Service an address (no data plane runs here): the
    controller writes Programmed=False AddressNotAssigned."""
    load(eg, scenario(None), address=None)
    gw = eg.cluster.api.get("Gateway", *GATEWAY)
    prog = condition(gw, "Programmed")
    assert (prog["status"], prog["reason"]) == ("False", "AddressNotAssigned"), prog
    assert not gw["status"].get("addresses")
    report = check(eg, capsys)
    assert root(report) == "gateway-no-address", (report["root_cause"], report["findings"])
    assert node(report, "gateway")["status"] == "fail"


def test_address_without_ready_replicas_is_gateway_not_programmed(eg, capsys):
    """The load balancer answers but no Envoy replica is available: Programmed=False
    NoResources; the Gateway has an address, so this is not gateway-no-address."""
    load(eg, scenario(None), ready=0)
    prog = condition(eg.cluster.api.get("Gateway", *GATEWAY), "Programmed")
    assert (prog["status"], prog["reason"]) == ("False", "NoResources"), prog
    report = check(eg, capsys)
    assert root(report) == "gateway-not-programmed", (report["root_cause"], report["findings"])
    assert "gateway-no-address" not in codes(report)
    # "Envoy replicas unavailable" names no object: the finding names the Deployment.
    _svc, dep = eg.data_plane(*GATEWAY)
    assert dep is not None
    finding = next(f for f in report["findings"] if f["code"] == "gateway-not-programmed")
    where = f"{dep['metadata']['namespace']}/{dep['metadata']['name']}"
    assert f"Deployment {where} has 0/1 available replicas" in finding["message"], finding["message"]
    assert finding["evidence"]["deployments"] == [where]
