"""The incident library (recordings/): every recording replays to its expected verdict, root
cause and category, is well formed, keeps only public material, and is indexed.

The expected verdicts are set from the reference facts, not from what the engine says; where
the engine disagrees, the recording stays right and the case is an xfail(strict) naming the
engine bug (reported to the lead).
"""

from __future__ import annotations

import base64
import functools
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edgedoctor import catalog
from edgedoctor import pemcerts as certs
from edgedoctor.collect import CheckOptions, gather
from edgedoctor.diagnosis.engine import diagnose
from edgedoctor.hostname import normalize_host
from edgedoctor.recording import read_recording_doc

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "recordings"
FILES = sorted(LIBRARY.glob("*.yaml")) + sorted(LIBRARY.glob("*.yaml.gz"))
NAMES = [f.name for f in FILES]

# Engine bugs found by the library (recording -> what is wrong). Each is strict: when the
# engine is fixed the test passes, xfail(strict) turns that into a failure, and the entry goes.
ENGINE_BUGS: dict[str, str] = {
    # Found and fixed in a124f35: gateway-envoy-replicas-unavailable, listener-no-match-new-domain,
    # dns-cloudflare-proxied, cert-manager-down-renewal-due (probe symptoms outranked their cause).
}

SEEDS = {
    "cert-manager-7003-cleanup.yaml": "cert-cloudflare-7003-cleanup",
    "cert-secret-name-mismatch.yaml": "cert-secret-name-mismatch",
    "cert-refgrant-missing.yaml": "cert-refgrant-missing",
    "cert-cloudflare-token-zone-read.yaml": "cert-cloudflare-token-permission",
    "cert-solver-dnszones-subzone.yaml": "cert-solver-no-match",
    "cert-staging-in-production.yaml": "cert-staging-issuer",
    "dns-propagation-lag.yaml": "dns-propagation",
    "external-dns-ingress-only.yaml": "dns-no-record",
    "k8s-gateway-no-httproute.yaml": "dns-internal-split-horizon",
    "proxy-protocol-envoy-only.yaml": "proxy-protocol-mismatch",
    "landing-page-instead-of-app.yaml": "route-shadowed-by-wildcard",
    "http-not-redirecting.yaml": "redirect-missing",
}

# The codes whose signal is what the world answers: their recordings must carry the probes.
WORLD_CODES = {
    "dns-no-record", "dns-wrong-target", "dns-ownership-conflict", "dns-propagation", "dns-cloudflare-proxied",
    "dns-wildcard-masking", "cert-staging-issuer", "cert-expired", "cert-expiring", "cert-san-mismatch",
    "cert-stale-served", "cert-caa-forbids", "cert-dns01-propagation-wait", "redirect-missing",
    "proxy-protocol-mismatch",
}


@functools.cache
def _doc(name: str) -> dict[str, Any]:
    return read_recording_doc(LIBRARY / name)  # read-only in these tests


def _replay(name: str):
    doc = _doc(name)
    ev = gather(CheckOptions(host=doc["evidence"]["host"], replay=str(LIBRARY / name)))
    return diagnose(ev)


def _bug(name: str) -> list[Any]:
    return [pytest.mark.xfail(strict=True, reason=ENGINE_BUGS[name])] if name in ENGINE_BUGS else []


@pytest.mark.parametrize("name", [pytest.param(n, marks=_bug(n)) for n in NAMES])
def test_replay_gives_the_expected_verdict(name):
    exp = _doc(name)["expected"]
    d = _replay(name)
    got = (d.verdict, d.root_cause["code"] if d.root_cause else None, d.category)
    assert got == (exp["verdict"], exp["root_cause"], exp["category"]), f"{name}: codes {d.codes}"


@pytest.mark.parametrize("name", NAMES)
def test_recording_is_well_formed(name):
    doc = _doc(name)
    assert doc["edgedoctor_recording"] == 1 and doc["tool_version"]
    assert doc["recorded_at"] == doc["evidence"]["now"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["recorded_at"])
    assert len(doc["title"]) <= 140 and "\n" not in doc["title"]
    story = " ".join(doc["story"].split())
    assert "What happened:" in story and "What the engineer sees:" in story, story
    exp = doc["expected"]
    assert set(exp) == {"verdict", "root_cause", "category"}
    ev = doc["evidence"]
    assert normalize_host(ev["host"]) == ev["host"]
    if exp["root_cause"] is None:
        assert exp["verdict"] == "ok" and exp["category"] is None
    else:
        entry = catalog.entry(exp["root_cause"])
        assert exp["category"] == entry["category"]
        assert exp["verdict"] in ("warning", "critical")
    if exp["root_cause"] in WORLD_CODES or exp["root_cause"] is None:
        assert ev["dns"] and ev["tls"] is not None and ev["http"], "probe evidence missing"
    kinds = {o["kind"] for o in ev["cluster"]["objects"]}
    assert {"Gateway", "GatewayClass", "HTTPRoute", "Namespace"} <= kinds


@pytest.mark.parametrize("name", NAMES)
def test_recording_holds_public_material_only(name):
    text = (LIBRARY / name).read_text()
    assert "PRIVATE KEY" not in text
    assert not re.search(r"\b127\.\d+\.\d+\.\d+\b", text), "a loopback address of the build rig is left"
    ev = _doc(name)["evidence"]
    for o in ev["cluster"]["objects"]:
        if o["kind"] != "Secret":
            continue
        assert o.get("redacted") is True
        assert set(o.get("data") or {}) <= {"tls.crt", "ca.crt"}, o["metadata"]["name"]
        for value in (o.get("data") or {}).values():
            pem = value if value.startswith("-----BEGIN") else base64.b64decode(value).decode()
            assert certs.load_pems(pem), "a Secret's data is not a certificate"
    for t in ev["tls"] or []:
        for pem in t["chain_pem"]:
            assert len(certs.load_pems(pem)) == 1


def test_every_catalog_code_has_a_recording():
    codes = {_doc(n)["expected"]["root_cause"] for n in NAMES}
    missing = set(catalog.all_codes()) - codes
    assert not missing, f"codes without a recording: {sorted(missing)}"


def test_healthy_edges_and_the_seed_incidents_are_there():
    healthy = [n for n in NAMES if _doc(n)["expected"]["verdict"] == "ok"]
    assert len(healthy) >= 3
    gateways = {n: [o for o in _doc(n)["evidence"]["cluster"]["objects"] if o["kind"] == "Gateway"] for n in healthy}
    assert any(len(g) == 1 for g in gateways.values())
    assert any(len(g) >= 2 for g in gateways.values()), "a two-Gateway healthy edge"
    renewing = [n for n in healthy if any(o["kind"] == "Order" and o["status"].get("state") == "pending"
                                          for o in _doc(n)["evidence"]["cluster"]["objects"])]
    assert renewing, "a healthy edge with an expiring certificate being renewed"
    for name, code in SEEDS.items():
        assert _doc(name)["expected"]["root_cause"] == code, name


def test_scenarios_vary_names_domains_and_versions():
    hosts, namespaces, gateways, images = set(), set(), set(), set()
    for n in NAMES:
        ev = _doc(n)["evidence"]
        hosts.add(".".join(ev["host"].split(".")[-2:]))
        for o in ev["cluster"]["objects"]:
            if o["kind"] == "Gateway":
                gateways.add(o["metadata"]["name"])
                namespaces.add(o["metadata"]["namespace"])
            if o["kind"] == "Deployment":
                for c in o["spec"]["template"]["spec"]["containers"]:
                    images.add(c["image"])
    assert len(hosts) >= 10 and len(namespaces) >= 6 and len(gateways) >= 8
    versions = lambda part: {i for i in images if part in i}  # noqa: E731
    assert len(versions("cert-manager-controller:")) >= 5
    assert len(versions("envoyproxy/gateway:")) >= 5
    assert len(versions("external-dns:")) >= 5


def test_readme_index_is_up_to_date():
    sys.path.insert(0, str(LIBRARY / "tools"))
    try:
        import index
    finally:
        sys.path.remove(str(LIBRARY / "tools"))
    want = index.render(LIBRARY)
    assert (LIBRARY / "README.md").read_text() == want, "run: python recordings/tools/build.py --index"
    for n in NAMES:
        assert f"[{n}]({n})" in want


@pytest.mark.parametrize(
    "name",
    ["healthy-two-gateways.yaml", "cert-staging-in-production.yaml", "cert-manager-7003-cleanup.yaml",
     "cert-refgrant-missing.yaml"],
)
def test_cli_replay_exit_status_and_json(name):
    """The command a person runs on a library file: the contract's exit status and JSON."""
    doc = _doc(name)
    host = doc["evidence"]["host"]
    proc = subprocess.run([sys.executable, "-m", "edgedoctor", "check", host, "--replay", str(LIBRARY / name), "-o", "json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    out = json.loads(proc.stdout)
    assert proc.returncode == {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}[out["verdict"]]
    assert out["verdict"] == doc["expected"]["verdict"]
    assert out["host"] == host and out["source"]["kind"] == "replay"
    assert out["source"]["recorded"]["kind"] == "live"
    text = subprocess.run([sys.executable, "-m", "edgedoctor", "check", host, "--replay", str(LIBRARY / name), "-o", "text"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    first = text.stdout.splitlines()[0]
    assert first.startswith(out["verdict"].upper()), first
    if out["root_cause"]:
        assert out["root_cause"]["code"] in first and host in first


@pytest.mark.servers
def test_library_build_is_deterministic(tmp_path):
    """Building one scenario twice gives the same bytes (keys, timings and labels are fixed)."""
    import shutil

    from tests.servers.common import require_binary

    require_binary("named", "Debian package bind9")
    require_binary("nginx", "Debian package nginx-light")
    if not shutil.which("faketime"):
        from tests.servers.common import in_ci

        (pytest.fail if in_ci() else pytest.skip)("faketime is not installed (apt-get install faketime)")
    import os

    if os.geteuid() != 0:
        pytest.skip("the build rig listens on 127.0.0.x:443 and :80 (needs root)")
    sys.path.insert(0, str(LIBRARY / "tools"))
    try:
        import build
        from scenarios import SCENARIOS

        from tests.servers.pki import PKI
    finally:
        sys.path.remove(str(LIBRARY / "tools"))
    sc = next(s for s in SCENARIOS if s.name == "dns-propagation-lag")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    build.build_one(sc, PKI(), tmp_path / "a")
    build.build_one(sc, PKI(), tmp_path / "b")
    a = (tmp_path / "a" / f"{sc.name}.yaml").read_text()
    assert a == (tmp_path / "b" / f"{sc.name}.yaml").read_text()
    assert "PRIVATE KEY" not in a and not re.search(r"\b127\.0\.0\.\d+\b", a)


def _replay_json(path: Path, host: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "edgedoctor", "check", host, "--replay", str(path), "-o", "json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode in (0, 1, 2), proc.stderr
    return {k: v for k, v in json.loads(proc.stdout).items() if k != "generated_at"}


@pytest.mark.parametrize("name", ["cert-manager-7003-cleanup.yaml", "healthy-expiring-renewing.yaml"])
def test_hand_edited_forms_replay_the_same(tmp_path, name):
    """What a person does to a recording: unquoted timestamps, base64 instead of PEM, JSON."""
    import yaml

    src = LIBRARY / name
    host = _doc(name)["evidence"]["host"]
    want = _replay_json(src, host)
    text = src.read_text()
    unquoted = re.sub(r"'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)'", r"\1", text)
    assert unquoted != text
    (tmp_path / "unquoted.yaml").write_text(unquoted)
    assert _replay_json(tmp_path / "unquoted.yaml", host) == want
    doc = yaml.safe_load(text)
    for o in doc["evidence"]["cluster"]["objects"]:
        if o["kind"] == "Secret":
            o["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in o["data"].items()}
    (tmp_path / "base64.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    assert _replay_json(tmp_path / "base64.yaml", host) == want
    (tmp_path / "as.json").write_text(json.dumps(doc))
    assert _replay_json(tmp_path / "as.json", host) == want
