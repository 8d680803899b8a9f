"""`edgedoctor sweep` from snapshots and recordings: which hosts, what each is told, the
Gateway-wide summary, the outputs (JSON, Prometheus parsed by prometheus_client, JUnit),
recording and replay as one file, and bad input."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from edgedoctor.diagnosis import engine
from edgedoctor.evidence import ClusterEvidence, Evidence
from edgedoctor.fleet.hosts import enumerate_hosts, parse_selector, selector_matches
from edgedoctor.fleet.view import FleetIndex
from edgedoctor.recording import load_recording
from tests import casekit, fleetkit
from tests.test_cli import run

NOW = casekit.NOW
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def snap(tmp_path_factory) -> Path:
    return casekit.write_snapshot(fleetkit.fleet_objects(), tmp_path_factory.mktemp("fleet") / "fleet.yaml")


def sweep(*args: str):
    p = run("sweep", *args)
    assert "Traceback" not in p.stderr, p.stderr
    return p


def sweep_json(*args: str) -> tuple[int, dict]:
    p = sweep(*args, "-o", "json")
    return p.returncode, json.loads(p.stdout)


def without_time(doc: dict) -> dict:
    doc = json.loads(json.dumps(doc))
    doc.pop("generated_at", None)
    for h in doc.get("hosts", []):
        h.pop("generated_at", None)
    return doc


# ----------------------------------------------------------------- the engine, shared


def _all_evidence() -> list[tuple[str, Evidence]]:
    out = []
    for case in casekit.load_cases():
        for label, edits in (("broken", case.get("broken")), ("twin", (case.get("twin") or {}).get("edits"))):
            objs = casekit.apply_edits(casekit.base_objects(), casekit.expand(edits or {}))
            cl = ClusterEvidence(objects=objs, kinds_read=sorted({o["kind"] for o in objs}))
            out.append((f"{case['name']}#{label}", Evidence(host=case.get("host", "app.example.com"),
                                                            now=case.get("now", NOW), source={"kind": "snapshot"}, cluster=cl)))
    for f in sorted((ROOT / "recordings").glob("*.yaml")):
        ev, _ = load_recording(f)
        out.append((f.name, ev))
    objs = fleetkit.fleet_objects()
    out.append(("fleet", Evidence(host="app.example.com", now=NOW, source={}, cluster=ClusterEvidence(
        objects=objs, kinds_read=sorted({o["kind"] for o in objs})))))
    return out


def test_a_host_view_diagnoses_exactly_as_the_full_index():
    """The sweep's shared index must never change an answer: every case, twin, recording and
    the fleet cluster, every host they serve, with the recorded probes and offline."""
    compared = 0
    for name, ev in _all_evidence():
        index = FleetIndex(ev.cluster)
        hosts = {ev.host} | {e.host for e in enumerate_hosts(ev.cluster.objects)}
        for host in sorted(hosts):
            variants = [(None, None, None)]
            if host == ev.host and ev.dns is not None:
                variants.append((ev.dns, ev.tls, ev.http))
            for dns, tls, http in variants:
                e = Evidence(host=host, now=ev.now, source=ev.source, cluster=ev.cluster, dns=dns, tls=tls,
                             http=http, options=ev.options)
                full = engine.diagnose(e).to_dict()
                shared = engine.finish(engine.analyze_cluster(e, index.view(host))).to_dict()
                full.pop("generated_at")
                shared.pop("generated_at")
                assert shared == full, f"{name}: {host}"
                compared += 1
    assert compared > 150


# ----------------------------------------------------------------- which hosts


def test_hosts_come_from_routes_with_a_gateway_and_exact_listener_names():
    objs = fleetkit.fleet_objects()
    mesh = fleetkit.route("mesh", "shop", "mesh.example.com", "app")
    mesh["spec"]["parentRefs"] = [{"kind": "Service", "group": "", "name": "app"}]
    wild = fleetkit.route("wild", "shop", "*.wild.example.com", "app")
    objs += [mesh, wild]
    hosts = {e.host: e for e in enumerate_hosts(objs)}
    assert sorted(hosts) == sorted(fleetkit.HEALTHY + list(fleetkit.BROKEN) + fleetkit.INTERNAL)
    assert hosts["chat.example.com"].gateways == ["gateway/internal"]
    # legacy.example.com is named both by its route and by its listener.
    assert set(hosts["legacy.example.com"].sources) == {"HTTPRoute shop/legacy", "Gateway gateway/external listener legacy"}


def test_namespace_selector_and_globs_narrow_the_hosts():
    objs = fleetkit.fleet_objects()
    assert [e.host for e in enumerate_hosts(objs, selector="team=shop")] == ["api.example.com", "orders.example.com"]
    assert [e.host for e in enumerate_hosts(objs, selector="team in (content),team!=shop")] == ["blog.example.com"]
    assert [e.host for e in enumerate_hosts(objs, globs=["*.example.com"], selector="!team")] == [
        "app.example.com", "chat.example.com", "hr.example.com", "legacy.example.com", "wiki.example.com"]
    assert [e.host for e in enumerate_hosts(objs, globs=["[cw]*"])] == ["chat.example.com", "wiki.example.com"]
    # Listener names come from the Gateway's namespace, route names from the route's.
    assert [e.host for e in enumerate_hosts(objs, namespaces=["gateway"])] == ["legacy.example.com"]
    assert enumerate_hosts(objs, namespaces=["nowhere"]) == []
    assert selector_matches(parse_selector("a,!b"), {"a": "1"}) and not selector_matches(parse_selector("a,!b"), {"a": "1", "b": ""})


# ----------------------------------------------------------------- what each host is told


def test_sweep_names_each_broken_hosts_code_and_no_other(snap):
    rc, doc = sweep_json("--snapshot", str(snap), "--offline", "--now", NOW)
    assert rc == 2
    assert doc["schema_version"] == 1 and doc["kind"] == "sweep"
    by_host = {h["host"]: h for h in doc["hosts"]}
    assert [h["host"] for h in doc["hosts"]] == sorted(by_host)
    for host in fleetkit.HEALTHY:
        assert by_host[host]["verdict"] == "ok", by_host[host]["findings"]
    for host, (category, code) in fleetkit.BROKEN.items():
        h = by_host[host]
        assert (h["verdict"], h["category"], h["root_cause"]["code"]) == ("critical", category, code)
    categories = {c for c, _ in fleetkit.BROKEN.values()} | {by_host[h]["category"] for h in fleetkit.INTERNAL}
    assert categories == {"app-routing", "cert-issuance"}
    # No broken host's code leaks to another host.
    for h in doc["hosts"]:
        if h["host"] not in fleetkit.BROKEN:
            assert not {f["code"] for f in h["findings"] if f["severity"] != "info"} & {c for _, c in fleetkit.BROKEN.values()}, h["host"]
    s = doc["summary"]
    assert (s["ok"], s["warning"], s["critical"], s["unknown"]) == (3, 0, 5, 0)
    assert doc["contexts"] == [{"context": None, "source": {"kind": "snapshot", "files": [str(snap)]}, "unknown_reasons": []}]


def test_each_host_is_exactly_what_check_prints(snap):
    _, doc = sweep_json("--snapshot", str(snap), "--offline", "--now", NOW)
    for h in doc["hosts"][:4] + doc["hosts"][-2:]:
        p = run("check", h["host"], "--snapshot", str(snap), "--offline", "--now", NOW, "-o", "json")
        one = json.loads(p.stdout)
        assert without_time({"hosts": [h]})["hosts"][0] == {"context": None, **without_time(one)}


def test_a_gateway_wide_failure_is_said_once(snap):
    _, doc = sweep_json("--snapshot", str(snap), "--offline", "--now", NOW)
    groups = doc["summary"]["groups"]
    assert groups == [{"context": None, "gateway": "gateway/internal", "code": "gateway-not-programmed",
                       "verdict": "critical", "title": groups[0]["title"], "hosts": fleetkit.INTERNAL, "gateway_hosts": 3}]
    table = sweep("--snapshot", str(snap), "--offline", "--now", NOW, "-o", "table").stdout
    assert table.count("is not programmed") == 1
    line = next(x for x in table.splitlines() if "is not programmed" in x)
    assert line.startswith("Gateway gateway/internal: 3 of 3 hosts CRITICAL app-routing gateway-not-programmed")
    # Two different broken hosts on gateway/external are no Gateway-wide cause.
    assert "Gateway gateway/external:" not in table
    assert table.splitlines()[-1] == "8 hosts: 3 ok, 0 warning, 5 critical, 0 unknown"


# ----------------------------------------------------------------- machine outputs


def test_prometheus_output_parses_with_prometheus_client(snap):
    from prometheus_client.parser import text_string_to_metric_families

    p = sweep("--snapshot", str(snap), "--offline", "--now", NOW, "--context", "prod-01", "-o", "prometheus")
    assert p.returncode == 2
    fams = {f.name: f for f in text_string_to_metric_families(p.stdout)}
    verdicts = {s.labels["host"]: s for s in fams["edgedoctor_host_verdict"].samples}
    assert set(verdicts) == set(fleetkit.HEALTHY) | set(fleetkit.BROKEN) | set(fleetkit.INTERNAL)
    assert verdicts["app.example.com"].value == 0 and verdicts["app.example.com"].labels["code"] == ""
    o = verdicts["orders.example.com"]
    assert (o.value, o.labels["code"], o.labels["category"], o.labels["context"]) == (2, "route-backend-unresolved", "app-routing", "prod-01")
    renew = {s.labels["host"]: s.value for s in fams["edgedoctor_certificate_renewal_timestamp_seconds"].samples}
    from datetime import datetime, timezone

    assert renew["app.example.com"] == datetime(2027, 2, 3, 2, 0, tzinfo=timezone.utc).timestamp()  # the base's renewalTime
    durations = fams["edgedoctor_check_duration_seconds"].samples
    assert len(durations) == 8 and all(s.value >= 0 for s in durations)
    swept = fams["edgedoctor_sweep_timestamp_seconds"].samples
    assert [s.labels for s in swept] == [{"context": "prod-01"}] and swept[0].value > 1.7e9
    # Offline nothing was served and DNS was not asked: no invented samples.
    assert not fams["edgedoctor_served_certificate_expiry_timestamp_seconds"].samples
    assert not fams["edgedoctor_dns_points_to_gateway"].samples


def test_junit_output(snap):
    p = sweep("--snapshot", str(snap), "--offline", "--now", NOW, "-o", "junit")
    root = ET.fromstring(p.stdout)
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("8", "5", "0")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["orders.example.com"].find("failure").get("type") == "route-backend-unresolved"
    assert cases["app.example.com"].find("failure") is None


def test_record_and_replay_a_sweep_as_one_file(snap, tmp_path):
    rec = tmp_path / "sweep.yaml.gz"
    p = sweep("--snapshot", str(snap), "--offline", "--now", NOW, "--record", str(rec), "-o", "json")
    first = json.loads(p.stdout)
    rc, again = sweep_json("--replay", str(rec))
    assert rc == p.returncode == 2
    # The same answers; the source says replay, with the recorded one inside (as check --replay).
    recorded = first["contexts"][0]["source"]
    assert again["contexts"][0]["source"] == {"kind": "replay", "recorded": recorded}
    for doc in (first, again):
        for x in doc["contexts"] + doc["hosts"]:
            x["source"] = x["source"].get("recorded", x["source"])
    assert without_time(again) == without_time(first)
    import gzip

    doc = yaml.safe_load(gzip.decompress(rec.read_bytes()))
    assert doc["kind"] == "sweep" and doc["complete"] is True
    (ctx,) = doc["sweep"]["contexts"]
    assert sorted(h["host"] for h in ctx["hosts"]) == sorted(h["host"] for h in first["hosts"])
    # The cluster is stored once for all hosts, Secrets as public certificates only.
    secrets = [o for o in ctx["cluster"]["objects"] if o["kind"] == "Secret"]
    assert secrets and all(set(s.get("data") or {}) <= {"tls.crt", "ca.crt"} for s in secrets)
    # Globs narrow a replay too; check refuses a sweep recording with a pointer.
    _, some = sweep_json("--replay", str(rec), "*.example.com", "--namespace", "gateway")
    assert [h["host"] for h in some["hosts"]] == ["legacy.example.com"]
    bad = run("check", "app.example.com", "--replay", str(rec))
    assert bad.returncode == 3 and "edgedoctor sweep --replay" in bad.stderr


@pytest.mark.parametrize("args, message", [
    (["--parallel", "0", "--offline"], "--parallel"),
    (["--replay", "x.yaml", "--context", "a"], "--replay"),
    (["--offline", "--selector", "a in b"], "--selector"),
    (["--offline", "--now", "yesterday"], "RFC 3339"),
    (["--all-contexts"], "--all-contexts"),
])
def test_bad_input_is_one_line_and_exit_3(snap, args, message):
    p = sweep("--snapshot", str(snap), *args) if args[0] != "--replay" else sweep(*args)
    assert p.returncode == 3
    assert len(p.stderr.strip().splitlines()) == 1 and message in p.stderr, p.stderr


def test_every_recorded_check_replays_in_a_sweep_as_check_replays_it():
    from edgedoctor.app.run import check
    from edgedoctor.collect import CheckOptions
    from edgedoctor.fleet.sweep import SweepOptions, SweepRun

    for f in sorted((ROOT / "recordings").glob("*.yaml")):
        ev, _ = load_recording(f)
        (one,) = list(SweepRun(SweepOptions(replay=str(f))).results())
        _, d = check(CheckOptions(host=ev.host, replay=str(f)))
        a, b = one.diagnosis.to_dict(), d.to_dict()
        a.pop("generated_at")
        b.pop("generated_at")
        assert (one.context, a) == (ev.source.get("context") or ev.cluster.context, b), f.name
        assert a["source"]["kind"] == "replay"


def test_registry_names_map_back_to_the_record_they_stand_for():
    from edgedoctor.fleet.drift import managed_name

    assert managed_name("a-app.example.com", {}) == ("app.example.com", "A")
    assert managed_name("cname-app.example.com", {}) == ("app.example.com", "CNAME")
    assert managed_name("app.example.com", {}) == ("app.example.com", None)  # the old same-name format
    assert managed_name("edns-aaaa-app.example.com", {"txt_prefix": "edns-"}) == ("app.example.com", "AAAA")
    assert managed_name("app-cname.example.com", {"txt_suffix": "-%{record_type}"}) == ("app.example.com", "CNAME")
    assert managed_name("a-wild.example.com", {"wildcard_replacement": "wild"}) == ("*.example.com", "A")


def test_drift_of_a_transferred_zone_is_pure():
    from edgedoctor.fleet.drift import analyze_zone

    def txt(owner: str, res: str) -> str:
        return f'"heritage=external-dns,external-dns/owner={owner},external-dns/resource={res}"'

    objs = fleetkit.fleet_objects()
    records = [
        {"name": "app.example.com", "type": "A", "ttl": 60, "value": "192.0.2.1"},
        {"name": "a-app.example.com", "type": "TXT", "ttl": 60, "value": txt("prod-cluster", "httproute/shop/app")},
        {"name": "*.example.com", "type": "A", "ttl": 60, "value": "192.0.2.9"},  # made by hand
        {"name": "cname-gone.example.com", "type": "TXT", "ttl": 60, "value": txt("prod-cluster", "httproute/shop/app")},
    ]
    z = analyze_zone({"zone": "example.com", "server": "192.0.2.53:53", "ok": True, "records": records},
                     objs, {"owner_id": "prod-cluster"})
    # The orphan names a route that still exists, but no route wants its name any more.
    assert z["orphans"] == [{"txt": "cname-gone.example.com", "name": "gone.example.com", "type": "CNAME",
                             "resource": "httproute/shop/app", "resource_exists": True, "records": []}]
    # Every wanted host without a record of its own is answered by the hand-made wildcard.
    shadowed = {u["name"] for u in z["unowned"]}
    assert shadowed == set(fleetkit.HEALTHY + list(fleetkit.BROKEN) + fleetkit.INTERNAL) - {"app.example.com"}
    assert all(u["via_wildcard"] == "*.example.com" for u in z["unowned"])
    refused = analyze_zone({"zone": "example.com", "server": "x", "ok": False, "error_kind": "refused", "error": "REFUSED"},
                           objs, {"owner_id": "prod-cluster"})
    assert (refused["transfer"], refused["orphans"], refused["unowned"]) == ("refused", [], [])


def test_the_bundled_sweep_recording_says_what_its_readme_says():
    p = sweep("--replay", str(ROOT / "recordings" / "fleet" / "shop-prod.yaml"), "-o", "table")
    assert p.returncode == 2
    lines = p.stdout.splitlines()
    assert lines[-1] == "8 hosts: 3 ok, 0 warning, 5 critical, 0 unknown"
    assert any(x.startswith("Gateway gateway/internal (shop-prod): 3 of 3 hosts CRITICAL app-routing gateway-not-programmed")
               for x in lines)
    rows = {x.split()[0]: x.split() for x in lines if x.endswith("example.com") or " shop-prod " in x}
    assert rows["orders.example.com"][4] == "route-backend-unresolved"
    assert rows["legacy.example.com"][4] == "cert-secret-name-mismatch"


@pytest.mark.parametrize("output", ["json", "prometheus", "table", "junit"])
def test_a_sweep_of_files_does_not_import_textual_or_kubernetes(snap, output):
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from edgedoctor.cli import main\n"
        f"rc = main(['sweep', '--snapshot', {str(snap)!r}, '--offline', '--now', {NOW!r}, '-o', {output!r}])\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'kubernetes', 'rich'})\n"
        "print('LOADED', bad, file=sys.stderr)\n"
        "raise SystemExit(rc)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert p.returncode == 2, p.stderr
    assert "LOADED []" in p.stderr
