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
UNOWNED = "wiki.example.com"  # its record was made by hand: no registry TXT


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

    def owned(owner: str, route: str) -> str:
        return f'"heritage=external-dns,external-dns/owner={owner},external-dns/resource=httproute/shop/{route}"'

    for host in fleetkit.HEALTHY + list(fleetkit.BROKEN) + fleetkit.INTERNAL:
        label = host.split(".")[0]
        records.append((label, 300, "A", WRONG if host == "blog.example.com" else EDGE))
        if host != UNOWNED:
            records.append((f"a-{label}", 300, "TXT", owned("prod-cluster", label)))
    # This cluster's record for a route deleted since, and another cluster's record.
    records += [("old", 300, "A", EDGE), ("a-old", 300, "TXT", owned("prod-cluster", "old")),
                ("other", 300, "A", "127.0.0.80"), ("a-other", 300, "TXT", owned("staging-cluster", "other"))]
    zone = {"example.com": zone_text("example.com", records, serial=7, minimum=300)}
    auth = named_factory(zone, allow_transfer=True)
    closed = named_factory(zone, allow_transfer=False)
    ng = nginx_factory()
    ng.tls_site((EDGE, 443), [], leaf, default=True, body="the shop")
    ng.http_site((EDGE, 80), [], default=True)
    ng.start()
    snapshot = casekit.write_snapshot(fleetkit.fleet_objects(address=EDGE, leaf_pem=leaf.fullchain_pem), tmp / "cluster.yaml")
    bundle = write_ca_bundle(tmp, test_ca)
    flags = ["--snapshot", str(snapshot), "--authoritative", auth.label, "--nameserver", auth.label,
             "--ca-bundle", str(bundle), "--timeout", "60", "--parallel", "4", "--now", NOW]
    return {"tmp": tmp, "flags": flags, "closed": closed.label, "auth": auth.label}


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


@pytest.mark.servers
def test_zone_transfer_finds_this_clusters_orphans_and_unowned_records(edge):
    rec = edge["tmp"] / "drift.yaml"
    p = run("sweep", *edge["flags"], "--zone-transfer", "--record", str(rec), "-o", "json")
    assert "Traceback" not in p.stderr, p.stderr
    doc = json.loads(p.stdout)
    (z,) = doc["drift"]
    assert (z["context"], z["zone"], z["server"], z["transfer"], z["owner_id"]) == (
        None, "example.com", edge["auth"], "ok", "prod-cluster")
    assert z["orphans"] == [{"txt": "a-old.example.com", "name": "old.example.com", "type": "A",
                             "resource": "httproute/shop/old", "resource_exists": False,
                             "records": [{"type": "A", "value": EDGE, "ttl": 300}]}]
    # another cluster's record is not ours to call an orphan
    assert z["unowned"] == [{"name": UNOWNED, "via_wildcard": None, "records": [{"type": "A", "value": EDGE, "ttl": 300}]}]
    assert p.returncode == 2
    table = run("sweep", "--replay", str(rec), "-o", "table").stdout
    assert "DNS drift: zone example.com from " + edge["auth"] + ": 1 orphaned, 1 unowned" in table
    assert "orphan   old.example.com: owned by prod-cluster for httproute/shop/old (gone from the cluster)" in table
    replayed = json.loads(run("sweep", "--replay", str(rec), "-o", "json").stdout)
    assert replayed["drift"] == doc["drift"]

    from prometheus_client.parser import text_string_to_metric_families

    prom = run("sweep", "--replay", str(rec), "-o", "prometheus").stdout
    fams = {f.name: f for f in text_string_to_metric_families(prom)}
    assert [(s.labels["zone"], s.value) for s in fams["edgedoctor_dns_orphan_records"].samples] == [("example.com", 1)]
    assert [s.value for s in fams["edgedoctor_dns_unowned_records"].samples] == [1]
    assert [s.value for s in fams["edgedoctor_zone_transfer_ok"].samples] == [1]


@pytest.mark.servers
def test_a_refused_zone_transfer_is_said_and_changes_nothing_else(edge):
    flags = [edge["closed"] if f == edge["auth"] else f for f in edge["flags"]]
    p = run("sweep", *flags, "--zone-transfer", "-o", "json")
    doc = json.loads(p.stdout)
    (z,) = doc["drift"]
    assert (z["transfer"], z["orphans"], z["unowned"]) == ("refused", [], [])
    assert "REFUSED" in z["error"] or "NOTAUTH" in z["error"]
    assert p.returncode == 2  # the hosts' verdicts, as without the transfer
    without = json.loads(run("sweep", *flags, "-o", "json").stdout)
    assert "drift" not in without
    assert [(h["host"], h["verdict"]) for h in without["hosts"]] == [(h["host"], h["verdict"]) for h in doc["hosts"]]
