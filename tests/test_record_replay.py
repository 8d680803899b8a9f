"""Record a real check and replay it: the same JSON (apart from generated_at), no network.

The check runs against real servers on loopback (tests/servers): BIND 9 as the zone's
authoritative server and as the resolver, nginx as the Gateway's data plane at the address
the snapshot cluster's Gateway reports, serving a certificate from the test CA. The replay
runs in a subprocess that records every socket the interpreter creates and every module it
imports.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgedoctor.recording import load_recording
from tests import casekit
from tests.servers.fixtures import named_factory, nginx_factory, test_ca, write_ca_bundle  # noqa: F401
from tests.servers.named import zone_text

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "recordings"
HOST = "app.example.com"
EDGE = "127.0.0.61"  # the Gateway's address in the snapshot: nginx listens there on 443 and 80


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edgedoctor", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"})


def without_time(doc: dict[str, Any]) -> dict[str, Any]:
    """The document apart from generated_at; a replay's source is the recorded source, kept
    inside `source.recorded` under `kind: replay`."""
    out = {k: v for k, v in doc.items() if k != "generated_at"}
    src = out.get("source") or {}
    if src.get("kind") == "replay":
        out["source"] = src["recorded"]
    return out


@pytest.fixture(scope="module")
def edge(named_factory, nginx_factory, test_ca, tmp_path_factory):  # noqa: F811
    if os.geteuid() != 0:
        pytest.skip("nginx must listen on 127.0.0.x:443 and :80, the ports the probes use (needs root)")
    tmp = tmp_path_factory.mktemp("record-replay")
    leaf = test_ca.leaf(["*.example.com", "example.com"])
    registry = '"heritage=external-dns,external-dns/owner=prod-cluster,external-dns/resource=httproute/shop/app"'
    records = [("app", 300, "A", EDGE), ("a-app", 300, "TXT", registry)]
    auth = named_factory({"example.com": zone_text("example.com", records, serial=7, minimum=300)})
    resolver = named_factory({"example.com": zone_text("example.com", records, serial=7, minimum=300)})
    ng = nginx_factory()
    ng.tls_site((EDGE, 443), [], leaf, default=True, body="the shop")
    ng.http_site((EDGE, 80), [], default=True)
    ng.start()
    objects = casekit.apply_edits(casekit.base_objects(), {"patch": [
        {"kind": "Gateway", "namespace": "gateway", "name": "external",
         "merge": {"status": {"addresses": [{"type": "IPAddress", "value": EDGE}]}}},
        {"kind": "Service", "namespace": "envoy-gateway-system", "name": "envoy-gateway-external-3b2a9c1d",
         "merge": {"status": {"loadBalancer": {"ingress": [{"ip": EDGE}]}}}},
        {"kind": "Secret", "namespace": "gateway", "name": "wildcard-example-com-tls",
         "merge": {"data": {"tls.crt": base64.b64encode(leaf.fullchain_pem.encode()).decode()}}},
    ]})
    snapshot = casekit.write_snapshot(objects, tmp / "cluster.yaml")
    bundle = write_ca_bundle(tmp, test_ca)
    flags = ["--snapshot", str(snapshot), "--authoritative", auth.label, "--nameserver", resolver.label,
             "--resolve", f"{HOST}:443:{EDGE}", "--ca-bundle", str(bundle), "--timeout", "10"]
    return {"tmp": tmp, "flags": flags, "leaf": leaf, "auth": auth.label, "resolver": resolver.label}


pytestmark = pytest.mark.servers


def test_replay_gives_the_same_json_as_the_recorded_check(edge):
    rec = edge["tmp"] / "check.yaml"
    live = run("check", HOST, *edge["flags"], "--record", str(rec), "-o", "json")
    assert live.returncode in (0, 1, 2), live.stderr
    original = json.loads(live.stdout)
    replay = run("check", HOST, "--replay", str(rec), "-o", "json")
    assert replay.returncode == live.returncode, replay.stderr
    again = json.loads(replay.stdout)
    assert again["source"]["kind"] == "replay" and original["source"]["kind"] != "replay"
    assert without_time(again) == without_time(original)
    # The real servers make a healthy edge: the recording is not an empty or failed check.
    assert original["verdict"] == "ok", original["findings"]
    assert {n["node"]: n["status"] for n in original["tree"]}["dns"] == "pass"


def test_the_recording_holds_what_the_check_saw(edge):
    rec = edge["tmp"] / "seen.yaml"
    live = run("check", HOST, *edge["flags"], "--record", str(rec), "-o", "json")
    assert live.returncode in (0, 1, 2), live.stderr
    doc = yaml.safe_load(rec.read_text())
    assert doc["edgedoctor_recording"] == 1 and doc["tool_version"] and doc["recorded_at"]
    ev = doc["evidence"]
    assert ev["host"] == HOST and ev["source"]["kind"] == "snapshot"
    kinds = {o["kind"] for o in ev["cluster"]["objects"]}
    assert {"Gateway", "HTTPRoute", "Certificate", "Secret", "Deployment"} <= kinds
    # Every DNS question, with the answer and the server that gave it.
    qs = ev["dns"]["queries"]
    assert {q["server"] for q in qs} == {edge["auth"], edge["resolver"]}
    address = [q for q in qs if q["purpose"] == "address" and q["qtype"] == "A"]
    assert address and all(q["answer"] == [{"name": f"{HOST}.", "type": "A", "ttl": 300, "value": EDGE}] for q in address)
    assert any(q["purpose"] == "txt-registry" and q["answer"] for q in qs)
    # The TLS handshake: the served chain as public PEM.
    tls = [t for t in ev["tls"] if t["ok"]]
    assert tls and tls[0]["chain_pem"][0] == edge["leaf"].pem
    assert all("PRIVATE KEY" not in p for t in ev["tls"] for p in t["chain_pem"])
    # The HTTP probes: the redirect on http, the app on https.
    http = {h["scheme"]: h for h in ev["http"]}
    assert http["http"]["status"] == 301 and http["http"]["location"] == f"https://{HOST}/"
    assert http["https"]["status"] == 200 and http["https"]["body_sample"] == "the shop\n"
    assert ev["options"]["authoritative"] == [edge["auth"]] and ev["options"]["resolve"] == [f"{HOST}:443:{EDGE}"]
    secret = next(o for o in ev["cluster"]["objects"] if o["kind"] == "Secret" and o["metadata"]["name"] == "wildcard-example-com-tls")
    assert secret["keys"] == ["tls.crt", "tls.key"] and set(secret["data"]) == {"tls.crt"}
    assert secret["data"]["tls.crt"].startswith("-----BEGIN CERTIFICATE-----")  # readable PEM, not base64


def test_record_command_writes_gzip_and_text_replays_the_same(edge):
    gz = edge["tmp"] / "incident.yaml.gz"
    rec = run("record", HOST, "--file", str(gz), *edge["flags"])
    assert rec.returncode in (0, 1, 2), rec.stderr
    assert gz.read_bytes()[:2] == b"\x1f\x8b"
    assert yaml.safe_load(gzip.decompress(gz.read_bytes()))["evidence"]["host"] == HOST
    assert f"recorded {HOST} to {gz}" in rec.stderr
    first = run("check", HOST, "--replay", str(gz), "-o", "json")
    assert first.returncode == rec.returncode
    second = run("check", HOST, "--replay", str(gz), "-o", "json")
    assert without_time(json.loads(first.stdout)) == without_time(json.loads(second.stdout))
    # Text output: a recorded check and its replay print the same report.
    plain = edge["tmp"] / "text.yaml"
    live_text = run("check", HOST, *edge["flags"], "--record", str(plain), "-o", "text")
    replay_text = run("check", HOST, "--replay", str(plain), "-o", "text")
    # The same report, said to be a replay.
    assert "(source: replay" in replay_text.stdout and "(source: replay" not in live_text.stdout
    def report(text: str) -> list[str]:
        return [ln for ln in text.splitlines() if "(source: " not in ln]

    assert report(replay_text.stdout) == report(live_text.stdout)
    assert replay_text.returncode == live_text.returncode


# A replay that must stay off the network and away from the kubernetes client and textual.
GUARD = r"""
import json, socket, sys
events = []
def hook(event, args):
    if event.startswith("socket."):
        events.append(event)
sys.addaudithook(hook)
class NoSocket(socket.socket):
    def __init__(self, *a, **k):
        raise OSError("socket creation blocked by the replay test")
socket.socket = NoSocket
from edgedoctor.cli import main
rc = main(sys.argv[1:])
sys.stdout.flush()
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"kubernetes", "textual", "httpx", "urllib3"})
sys.stderr.write("\nGUARD " + json.dumps({"rc": rc, "events": events, "heavy": heavy}) + "\n")
"""


def guarded_replay(host: str, path: Path, output: str = "json") -> tuple[dict[str, Any], str]:
    proc = subprocess.run([sys.executable, "-c", GUARD, "check", host, "--replay", str(path), "-o", output],
                          capture_output=True, text=True, cwd=ROOT, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("GUARD "))
    return json.loads(line[len("GUARD "):]), proc.stdout


@pytest.mark.parametrize("name", ["healthy-single-gateway.yaml", "proxy-protocol-envoy-only.yaml", "cert-caa-other-ca.yaml"])
def test_replay_opens_no_socket_and_imports_no_client(name):
    path = LIBRARY / name
    ev, _ = load_recording(path)
    for output in ("json", "text"):
        guard, stdout = guarded_replay(ev.host, path, output)
        assert guard["events"] == [], guard
        assert guard["heavy"] == [], guard
        assert guard["rc"] in (0, 1, 2) and stdout.strip()
    assert json.loads(guarded_replay(ev.host, path)[1])["host"] == ev.host


def test_guard_would_see_a_socket():
    """The guard is not blind: a command that needs the network is caught by it."""
    proc = subprocess.run([sys.executable, "-c", GUARD.replace("rc = main(sys.argv[1:])",
                           "import contextlib\nwith contextlib.suppress(OSError):\n    socket.create_connection(('127.0.0.1', 9), 0.1)\nrc = 0")],
                          capture_output=True, text=True, cwd=ROOT, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("GUARD "))
    assert json.loads(line[6:])["events"], proc.stderr


def test_replay_of_the_real_recording_is_offline_too(edge):
    rec = edge["tmp"] / "offline-check.yaml"
    live = run("check", HOST, *edge["flags"], "--record", str(rec), "-o", "json")
    assert live.returncode in (0, 1, 2), live.stderr
    guard, stdout = guarded_replay(HOST, rec)
    assert guard["events"] == [] and guard["heavy"] == [], guard
    assert without_time(json.loads(stdout)) == without_time(json.loads(live.stdout))
