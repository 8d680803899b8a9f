"""`edgedoctor sweep` against live things: clusters read through the kubeconfig (one read
per context, never one per host), and DNS/TLS/HTTP probes against BIND 9 and nginx on
loopback, so that DNS drift shows up per host."""

from __future__ import annotations

import json
import os

import pytest

from tests import casekit, fleetkit
from tests.fakeapi import FakeAPI
from tests.servers.fixtures import named_factory, nginx_factory, test_ca, write_ca_bundle  # noqa: F401
from tests.servers.named import zone_text
from tests.test_cli import run

NOW = casekit.NOW
EDGE = "127.0.0.71"  # both Gateways' address: nginx listens there on 443 and 80
WRONG = "127.0.0.72"  # an old load balancer nothing listens on


def test_one_cluster_read_per_context_and_contexts_labelled(tmp_path):
    with FakeAPI(fleetkit.fleet_objects()) as api:
        kc = api.kubeconfig(tmp_path / "config")
        p = run("sweep", "--kubeconfig", str(kc), "--context", "fake", "--context", "dead", "--offline",
                "--now", NOW, "-o", "json")
        assert "Traceback" not in p.stderr
        doc = json.loads(p.stdout)
        assert [c["context"] for c in doc["contexts"]] == ["dead", "fake"]
        dead, fake = doc["contexts"]
        assert dead["unknown_reasons"] and not fake["unknown_reasons"]
        assert {h["context"] for h in doc["hosts"]} == {"fake"} and len(doc["hosts"]) == 8
        assert all(h["source"] == {"kind": "live", "context": "fake", "cluster": "fake-cluster"} for h in doc["hosts"])
        # Eight hosts, one list of routes: the cluster is read once for all of them.
        lists = [r["path"] for r in api.requests if r["path"].endswith("/httproutes")]
        assert len(lists) == 1, lists
        assert p.returncode == 2  # critical hosts outrank the unreadable context
        assert "context dead" in p.stderr

        every = run("sweep", "--kubeconfig", str(kc), "--all-contexts", "--offline", "--now", NOW, "-o", "json")
        assert [c["context"] for c in json.loads(every.stdout)["contexts"]] == ["badtoken", "dead", "fake"]

        alone = run("sweep", "--kubeconfig", str(kc), "--context", "dead", "--offline", "-o", "json")
        assert alone.returncode == 3 and json.loads(alone.stdout)["hosts"] == []


@pytest.fixture(scope="module")
def edge(named_factory, nginx_factory, test_ca, tmp_path_factory):  # noqa: F811
    if os.geteuid() != 0:
        pytest.skip("nginx must listen on 127.0.0.x:443 and :80, the ports the probes use (needs root)")
    tmp = tmp_path_factory.mktemp("fleet-live")
    leaf = test_ca.leaf(["*.example.com", "example.com"])
    records = []
    for host in fleetkit.HEALTHY + list(fleetkit.BROKEN) + fleetkit.INTERNAL:
        label = host.split(".")[0]
        owner = f'"heritage=external-dns,external-dns/owner=prod-cluster,external-dns/resource=httproute/shop/{label}"'
        records += [(label, 300, "A", WRONG if host == "blog.example.com" else EDGE), (f"a-{label}", 300, "TXT", owner)]
    auth = named_factory({"example.com": zone_text("example.com", records, serial=7, minimum=300)})
    ng = nginx_factory()
    ng.tls_site((EDGE, 443), [], leaf, default=True, body="the shop")
    ng.http_site((EDGE, 80), [], default=True)
    ng.start()
    snapshot = casekit.write_snapshot(fleetkit.fleet_objects(address=EDGE, leaf_pem=leaf.fullchain_pem), tmp / "cluster.yaml")
    bundle = write_ca_bundle(tmp, test_ca)
    flags = ["--snapshot", str(snapshot), "--authoritative", auth.label, "--nameserver", auth.label,
             "--ca-bundle", str(bundle), "--timeout", "60", "--parallel", "4", "--now", NOW]
    return {"tmp": tmp, "flags": flags}


@pytest.mark.servers
def test_live_sweep_names_one_broken_host_per_category(edge):
    p = run("sweep", *edge["flags"], "-o", "json")
    assert "Traceback" not in p.stderr, p.stderr
    doc = json.loads(p.stdout)
    by_host = {h["host"]: h for h in doc["hosts"]}
    expected = {**fleetkit.BROKEN, "blog.example.com": ("dns-sync", "dns-wrong-target")}
    for host, h in by_host.items():
        if host in expected:
            assert (h["category"], h["root_cause"]["code"]) == expected[host], (host, h["findings"])
        elif host in fleetkit.INTERNAL:
            assert h["root_cause"]["code"] == "gateway-not-programmed", (host, h["findings"])
        else:
            assert h["verdict"] == "ok", (host, h["findings"])
            assert {n["node"]: n["status"] for n in h["tree"]}["served-certificate"] == "pass"
    assert {c for c, _ in expected.values()} == {"app-routing", "dns-sync", "cert-issuance"}
    assert p.returncode == 2


@pytest.mark.servers
def test_live_sweep_metrics_and_replay(edge):
    from prometheus_client.parser import text_string_to_metric_families

    rec = edge["tmp"] / "sweep.yaml"
    p = run("sweep", *edge["flags"], "--record", str(rec), "-o", "prometheus")
    fams = {f.name: f for f in text_string_to_metric_families(p.stdout)}
    points = {s.labels["host"]: s.value for s in fams["edgedoctor_dns_points_to_gateway"].samples}
    assert points["app.example.com"] == 1 and points["blog.example.com"] == 0
    served = {s.labels["host"]: s.value for s in fams["edgedoctor_served_certificate_expiry_timestamp_seconds"].samples}
    assert served["app.example.com"] > 1.7e9
    replay = run("sweep", "--replay", str(rec), "-o", "prometheus")
    again = {f.name: f for f in text_string_to_metric_families(replay.stdout)}
    verdicts = lambda fs: sorted((s.labels["host"], s.labels["code"], s.value) for s in fs["edgedoctor_host_verdict"].samples)  # noqa: E731
    assert verdicts(again) == verdicts(fams)
    assert replay.returncode == p.returncode == 2
