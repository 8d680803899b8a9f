"""deploy/exporter.yaml: what an operator applies to run `edgedoctor serve`.

Its structure is checked against edgedoctor itself (the container's arguments parse with
the real CLI, ports and selectors line up, the role is the one deploy/rbac-reader.yaml
ships, the alerts use only metrics the exporter emits); then it is applied server-side,
with strict field validation, to the test suite's real kube-apiserver with the
Prometheus Operator's CRDs installed, and the service account's rights are asked of it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests import casekit, fleetkit
from tests.test_cli import run

ROOT = Path(__file__).resolve().parents[1]
DOCS = [d for d in yaml.safe_load_all((ROOT / "deploy" / "exporter.yaml").read_text()) if d]


def one(kind: str) -> dict:
    (doc,) = [d for d in DOCS if d["kind"] == kind]
    return doc


def exported_metric_names(tmp_path: Path) -> set[str]:
    from prometheus_client.parser import text_string_to_metric_families

    from edgedoctor.fleet.serve import Exporter

    snap = casekit.write_snapshot(fleetkit.fleet_objects(), tmp_path / "fleet.yaml")
    text = run("sweep", "--snapshot", str(snap), "--offline", "--now", casekit.NOW, "-o", "prometheus").stdout
    names = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
    exporter = Exporter(lambda: None, 1)
    exporter.last_success = exporter.last_duration = 1.0
    names |= {s.name for f in text_string_to_metric_families(exporter.metrics().decode()) for s in f.samples}
    # Metrics a live sweep adds (offline has no served certificate or DNS answer).
    return names | {"edgedoctor_served_certificate_expiry_timestamp_seconds", "edgedoctor_dns_points_to_gateway"}


def test_the_manifests_fit_edgedoctor(tmp_path):
    from edgedoctor.cli.parser import build_parser
    from edgedoctor.fleet.serve import parse_listen

    assert [d["kind"] for d in DOCS] == ["Namespace", "ServiceAccount", "ClusterRoleBinding", "Deployment", "Service",
                                         "ServiceMonitor", "PrometheusRule"]
    dep, svc, sm = one("Deployment"), one("Service"), one("ServiceMonitor")
    pod = dep["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    args = build_parser().parse_args(container["args"])
    assert args.command == "serve" and not args.snapshot and not args.replay and not args.offline
    port = parse_listen(args.listen)[1]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"metrics": port}
    assert args.timeout < args.interval  # a sweep ends before the next is due
    assert pod["spec"]["serviceAccountName"] == one("ServiceAccount")["metadata"]["name"]
    labels = pod["metadata"]["labels"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert svc["spec"]["selector"].items() <= labels.items()
    assert svc["spec"]["ports"][0]["targetPort"] == "metrics"
    assert sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    assert [e["port"] for e in sm["spec"]["endpoints"]] == [svc["spec"]["ports"][0]["name"]]
    # Bound to the reader role deploy/rbac-reader.yaml ships, for the exporter's account.
    crb = one("ClusterRoleBinding")
    roles = [d["metadata"]["name"] for d in yaml.safe_load_all((ROOT / "deploy" / "rbac-reader.yaml").read_text())
             if d and d.get("kind") == "ClusterRole"]
    assert crb["roleRef"]["name"] == "edgedoctor-reader" and "edgedoctor-reader" in roles
    assert crb["subjects"] == [{"kind": "ServiceAccount", "name": "edgedoctor", "namespace": "edgedoctor"}]
    # The alerts the runbooks ask for, on metrics the exporter really emits.
    rules = {r["alert"]: r for g in one("PrometheusRule")["spec"]["groups"] for r in g["rules"]}
    assert {"EdgedoctorCertificateExpiresSoon", "EdgedoctorHostCritical", "EdgedoctorExternalDNSNotSyncing"} <= set(rules)
    assert "< 15 * 86400" in rules["EdgedoctorCertificateExpiresSoon"]["expr"]
    assert rules["EdgedoctorHostCritical"]["for"] == "10m" and "== 2" in rules["EdgedoctorHostCritical"]["expr"]
    emitted = exported_metric_names(tmp_path)
    for name, rule in rules.items():
        used = set(re.findall(r"\bedgedoctor_[a-z_]+", rule["expr"]))
        assert used and used <= emitted, (name, used - emitted)
    assert '{code="external-dns-down"}' in rules["EdgedoctorExternalDNSNotSyncing"]["expr"]
    assert "external-dns-down" in run("checks").stdout


def _apply(api, doc: dict) -> dict:
    """Server-side apply with strict field validation: an unknown or misspelled field is an error."""
    res = api.resource(doc["kind"], doc["apiVersion"])
    return api.request("PATCH", res.path(doc["metadata"].get("namespace"), doc["metadata"]["name"]), body=doc,
                       content_type="application/apply-patch+yaml",
                       params={"fieldManager": "edgedoctor-test", "fieldValidation": "Strict", "force": "true"})


def test_the_manifests_are_accepted_by_the_api_server(kube_cluster):
    from tests.servers.common import wait_until
    from tests.servers.monitoring import monitoring_crds

    api = kube_cluster.api
    crds = monitoring_crds("servicemonitors", "prometheusrules")
    for crd in crds:
        _apply(api, crd)

    def established() -> bool:
        for crd in crds:
            got = api.get("CustomResourceDefinition", None, crd["metadata"]["name"])
            conds = {c["type"]: c["status"] for c in (got or {}).get("status", {}).get("conditions", [])}
            if conds.get("Established") != "True":
                return False
        return True

    wait_until(established, 60, "the monitoring CRDs")
    try:
        for doc in DOCS:
            stored = _apply(api, doc)
            assert stored["kind"] == doc["kind"] and stored["metadata"]["name"] == doc["metadata"]["name"]
            if "spec" in doc and doc["kind"] in ("ServiceMonitor", "PrometheusRule"):
                # Nothing pruned: every field we wrote is in the schema.
                assert stored["spec"] == doc["spec"], doc["kind"]
        # The exporter's account may read what a sweep reads, and write nothing.
        sa = "system:serviceaccount:edgedoctor:edgedoctor"

        def allowed(verb: str, group: str, resource: str) -> bool:
            review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                      "spec": {"user": sa, "groups": ["system:serviceaccounts", "system:authenticated"],
                               "resourceAttributes": {"verb": verb, "group": group, "resource": resource}}}
            return api.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body=review)["status"].get("allowed", False)

        assert allowed("list", "gateway.networking.k8s.io", "httproutes")
        assert allowed("list", "cert-manager.io", "certificates")
        assert not allowed("list", "", "secrets")
        assert not allowed("patch", "gateway.networking.k8s.io", "httproutes")
        # The strict apply proves something: the same server refuses a misspelled field.
        from tests.servers.kubeapi import KubeError

        for kind, field in (("ServiceMonitor", "endpointz"), ("PrometheusRule", "groupz")):
            bad = yaml.safe_load(yaml.safe_dump(one(kind)))
            bad["spec"][field] = []
            with pytest.raises(KubeError) as refused:
                _apply(api, bad)
            # (server-side apply answers 500 "field not declared in schema"; a create, 400 "unknown field")
            message = str(refused.value.body)
            assert f".spec.{field}" in message and ("not declared in schema" in message or "unknown field" in message), message
    finally:
        api.delete("ClusterRoleBinding", None, "edgedoctor-exporter-reader")
        api.delete("Namespace", None, "edgedoctor")
        for crd in crds:
            api.delete("CustomResourceDefinition", None, crd["metadata"]["name"])


def test_a_sweep_as_the_reader_role_on_the_real_api_server(kube_cluster, tmp_path):
    """What the exporter's account may read is enough: the fleet cluster, loaded into the real
    kube-apiserver, swept as the user bound only to edgedoctor-reader, says what the
    snapshot says, and nothing was refused."""
    import json

    from tests.casekit import server_objects

    kube_cluster.reset()
    kube_cluster.load(server_objects(fleetkit.fleet_objects()))
    kc = kube_cluster.kubeconfig("reader")
    live = run("sweep", "--kubeconfig", str(kc), "--offline", "--now", casekit.NOW, "-o", "json")
    assert "Traceback" not in live.stderr, live.stderr
    doc = json.loads(live.stdout)
    assert doc["contexts"][0]["unknown_reasons"] == [] and doc["contexts"][0]["context"] == "edgedoctor-test"
    got = {h["host"]: (h["verdict"], (h["root_cause"] or {}).get("code")) for h in doc["hosts"]}
    snap = casekit.write_snapshot(fleetkit.fleet_objects(), tmp_path / "fleet.yaml")
    want = {h["host"]: (h["verdict"], (h["root_cause"] or {}).get("code"))
            for h in json.loads(run("sweep", "--snapshot", str(snap), "--offline", "--now", casekit.NOW,
                                    "-o", "json").stdout)["hosts"]}
    assert got == want
    assert live.returncode == 2
    assert kube_cluster.users["reader"].token not in live.stdout + live.stderr
