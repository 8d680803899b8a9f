"""The command line as scripts meet it: exit codes, JSON contract, text first line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import casekit

ROOT = Path(__file__).resolve().parent.parent
BASE = str(ROOT / "tests" / "snapshots" / "base")
NOW = casekit.NOW


def run(*args: str, env: dict | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    e = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "edgedoctor", *args],
        capture_output=True, text=True, cwd=ROOT, env=e, input=stdin, timeout=60,
    )


def snapshot_for(code: str, tmp_path: Path) -> Path:
    case = next(c for c in casekit.load_cases() if c["name"] == code)
    objs = casekit.apply_edits(casekit.base_objects(), casekit.expand(case.get("broken")))
    return casekit.write_snapshot(objs, tmp_path / f"{code}.yaml")


def test_healthy_json_contract():
    p = run("check", "app.example.com", "--snapshot", BASE, "--offline", "--now", NOW, "-o", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["schema_version"] == 1
    assert doc["host"] == "app.example.com"
    assert doc["verdict"] == "ok" and doc["root_cause"] is None and doc["category"] is None
    assert [n["node"] for n in doc["tree"]] == [
        "dns", "load-balancer", "gateway", "listener", "route", "backend", "certificate",
        "certificate-request", "order", "challenge", "secret", "served-certificate", "http-redirect",
    ]
    assert {n["status"] for n in doc["tree"]} <= {"pass", "warn", "fail", "skip", "unknown", "error"}
    assert doc["source"]["kind"] == "snapshot"
    assert doc["generated_at"].endswith("Z")


@pytest.mark.parametrize(
    ("code", "exit_code", "verdict"),
    [("cert-cloudflare-7003-cleanup", 2, "critical"), ("route-conflict", 1, "warning"), ("gateway-no-address", 2, "critical")],
)
def test_exit_codes_and_first_line(code, exit_code, verdict, tmp_path):
    snap = snapshot_for(code, tmp_path)
    p = run("check", "https://App.Example.com:443/cart", "--snapshot", str(snap), "--offline", "--now", NOW, "-o", "json")
    assert p.returncode == exit_code, p.stderr
    doc = json.loads(p.stdout)
    assert doc["verdict"] == verdict
    assert doc["root_cause"]["code"] == code
    f = doc["findings"][0]
    assert set(f) == {"code", "severity", "category", "node", "message", "evidence", "commands", "playbooks"}
    t = run("check", "app.example.com", "--snapshot", str(snap), "--offline", "--now", NOW, "-o", "text")
    assert t.returncode == exit_code
    first = t.stdout.splitlines()[0]
    assert first.startswith(f"{verdict.upper()} {doc['category']} {code}: app.example.com ")
    # For a pager: one line of at most 200 characters that ends with what to do.
    assert len(first) <= 200 and " | fix: " in first, first


def test_json_is_default_without_a_terminal():
    p = run("check", "app.example.com", "--snapshot", BASE, "--offline", "--now", NOW)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["host"] == "app.example.com" and doc["verdict"] == "ok"


def test_check_does_not_import_textual_or_kubernetes():
    code = (
        "import sys\n"
        "from edgedoctor.cli import main\n"
        f"rc = main(['check', 'app.example.com', '--snapshot', {BASE!r}, '--offline', '--now', {NOW!r}, '-o', 'json'])\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'kubernetes', 'rich'})\n"
        "print('LOADED', bad, file=sys.stderr)\n"
        "raise SystemExit(rc)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "LOADED []" in p.stderr


def test_checks_and_explain():
    p = run("checks")
    assert p.returncode == 0
    assert "cert-cloudflare-7003-cleanup" in p.stdout and "app-routing" in p.stdout
    e = run("explain", "cert-cloudflare-7003-cleanup")
    assert e.returncode == 0
    assert "v1.16.4" in e.stdout and "Confirm by hand" in e.stdout
    bad = run("explain", "no-such-code")
    assert bad.returncode == 3 and "unknown code" in bad.stderr and "Traceback" not in bad.stderr
