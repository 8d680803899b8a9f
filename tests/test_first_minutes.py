"""The first five minutes of a new user (issue 11): every exit 3 is one line with what to
do, and the diagnosis is never lost; the small things a first run trips over."""

from __future__ import annotations

import http.server
import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from edgedoctor.cli import main
from tests.test_cli import BASE, ROOT, run

REC = ROOT / "recordings" / "cert-manager-7003-cleanup.yaml"
REC_HOST = "portal.contoso.example"


def _lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.strip()]


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _kubeconfig(tmp_path: Path, server: str, user: str = "{token: not-a-real-token}") -> Path:
    kc = tmp_path / "config"
    kc.write_text(f"""apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {{server: "{server}"}}
users:
- name: u
  user: {user}
contexts:
- name: prod
  context: {{cluster: c, user: u}}
current-context: prod
""")
    return kc


# ------------------------------------------------------------------ -o json: exit 3 still prints the document

@pytest.mark.parametrize("args", [
    ["check", "not a host!", "--snapshot", BASE, "--offline"],
    ["check", "app.example.com", "--snapshot", BASE, "--offline", "--timeout", "-5"],
    ["check", "app.example.com", "--snapshot", BASE, "--replay", str(REC)],
    ["check", "app.example.com", "--snapshot", BASE, "--no-such-flag"],
    ["check", "app.example.com", "--snapshot", "/nonexistent/snap.yaml", "--offline"],
], ids=["bad-host", "negative-timeout", "replay-and-snapshot", "unknown-flag", "missing-snapshot"])
def test_json_exit_3_prints_the_document(args):
    p = run(*args, "-o", "json")
    assert p.returncode == 3, p.stderr
    assert len(_lines(p.stderr)) == 1 and "Traceback" not in p.stderr
    doc = json.loads(p.stdout)
    assert doc["verdict"] == "unknown" and doc["unknown_reasons"] and doc["schema_version"] == 1


# ------------------------------------------------------------------ --record checked before the work

def test_unwritable_record_path_is_refused_before_the_work(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    target = ro / "sub" / "out.yaml"
    t0 = time.monotonic()
    p = run("check", REC_HOST, "--replay", str(REC), "-o", "text", "--record", str(target))
    assert p.returncode == 3 and time.monotonic() - t0 < 30
    assert _lines(p.stderr) == [_lines(p.stderr)[0]] and "cannot write the recording" in p.stderr
    assert not target.exists()


# ------------------------------------------------------------------ replays: no HOST needed, labelled as such

def test_replay_without_host_and_labelled_replay():
    with_host = run("check", REC_HOST, "--replay", str(REC), "-o", "json")
    without = run("check", "--replay", str(REC), "-o", "json")
    assert without.returncode == with_host.returncode != 3, without.stderr
    a, b = json.loads(with_host.stdout), json.loads(without.stdout)
    a.pop("generated_at"), b.pop("generated_at")
    assert a == b
    assert b["source"]["kind"] == "replay" and b["source"]["recorded"]["kind"] == "live"
    text = run("check", "--replay", str(REC), "-o", "text")
    assert "(source: replay" in text.stdout
    p = run("check", "-o", "json")
    assert p.returncode == 3 and "give the HOST" in p.stderr


# ------------------------------------------------------------------ help, did you mean, record --file

def test_help_texts_and_did_you_mean():
    assert "hostname users type" in run("check", "-h").stdout
    fix_help = " ".join(run("fix", "-h").stdout.split())
    assert "fix --list" in fix_help and "hostname users type" in fix_help
    assert "edgedoctor checks" in run("explain", "-h").stdout
    p = run("chek", "app.example.com")
    assert p.returncode == 3 and _lines(p.stderr) == ["edgedoctor: unknown command 'chek'; did you mean 'check'?"]
    p = run("check", "app.example.com", "-o", "jsn")
    assert p.returncode == 3 and "did you mean 'json'" in p.stderr


def test_record_writes_with_file_and_the_old_o_says_so(tmp_path):
    new = tmp_path / "new.yaml"
    p = run("record", REC_HOST, "--replay", str(REC), "--file", str(new))
    assert p.returncode in (0, 1, 2) and new.exists(), p.stderr
    assert "notice" not in p.stderr
    old = tmp_path / "old.yaml"
    p = run("record", REC_HOST, "--replay", str(REC), "-o", str(old))
    assert p.returncode in (0, 1, 2) and old.exists(), p.stderr
    assert "record --file FILE" in p.stderr
    p = run("record", REC_HOST, "--replay", str(REC))
    assert p.returncode == 3 and "--file FILE" in p.stderr


def test_apply_on_a_replay_leaves_no_audit_log(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rc = main(["fix", "cert-manager-cloudflare-cleanup-bug", REC_HOST, "--replay", str(REC), "--apply", "--yes"])
    capsys.readouterr()
    assert rc == 3
    assert not list(tmp_path.iterdir()), "a refused --apply on read-only evidence wrote a file"


# ------------------------------------------------------------------ nothing hangs

def test_tui_without_a_terminal_exits_3_at_once():
    t0 = time.monotonic()
    p = run("tui", "--replay", str(REC), stdin="")
    assert p.returncode == 3 and time.monotonic() - t0 < 30
    assert len(_lines(p.stderr)) == 1 and "needs a terminal" in p.stderr


# ------------------------------------------------------------------ no kubeconfig, unreachable, not Kubernetes

def test_no_kubeconfig_still_probes_and_says_what_a_kubeconfig_adds(tmp_path):
    env = {"HOME": str(tmp_path), "KUBECONFIG": "", "KUBERNETES_SERVICE_HOST": ""}
    dead = f"127.0.0.1:{_free_port()}"
    p = run("check", "app.example.com", "--nameserver", dead, "--authoritative", dead, "--timeout", "5",
            "-o", "json", env=env)
    assert p.returncode == 3, p.stderr
    doc = json.loads(p.stdout)
    nodes = {n["node"]: n for n in doc["tree"]}
    assert nodes["dns"]["status"] != "skip", nodes["dns"]  # the DNS probe ran
    assert nodes["gateway"]["status"] == "unknown" and "kubeconfig" in nodes["gateway"]["summary"]
    assert "--snapshot adds them" in nodes["gateway"]["summary"]
    assert "no kubeconfig" in p.stderr and "Traceback" not in p.stderr
    p = run("check", "app.example.com", "--offline", "-o", "json", env=env)
    assert p.returncode == 3 and "drop it to probe DNS, TLS and HTTP" in p.stderr


def test_unreachable_api_server_is_one_line_with_what_to_check(tmp_path):
    kc = _kubeconfig(tmp_path, f"http://127.0.0.1:{_free_port()}")
    p = run("check", "app.example.com", "--kubeconfig", str(kc), "--offline", "--timeout", "5", "-o", "json")
    assert p.returncode == 3
    lines = _lines(p.stderr)
    assert len(lines) == 1, p.stderr
    assert "context 'prod'" in lines[0] and "kubectl cluster-info --context prod" in lines[0]
    assert "check the VPN" in lines[0] and "not-a-real-token" not in p.stdout + p.stderr


def test_missing_exec_plugin_is_said_in_the_line_not_logged_raw(tmp_path):
    user = ("{exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: "
            "edgedoctor-no-such-credential-plugin}}")
    kc = _kubeconfig(tmp_path, f"https://127.0.0.1:{_free_port()}", user)
    p = run("check", "app.example.com", "--kubeconfig", str(kc), "--offline", "--timeout", "5", "-o", "json")
    assert p.returncode == 3
    assert "ERROR:root" not in p.stderr
    lines = _lines(p.stderr)
    assert len(lines) == 1 and "edgedoctor-no-such-credential-plugin" in lines[0], p.stderr


class _NotFound(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = b"<html>404 page not found</html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_server_that_is_not_kubernetes_is_named(tmp_path):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        kc = _kubeconfig(tmp_path, f"http://127.0.0.1:{srv.server_address[1]}")
        p = run("check", "app.example.com", "--kubeconfig", str(kc), "--offline", "--timeout", "5", "-o", "json")
    finally:
        srv.shutdown()
        srv.server_close()
    assert p.returncode == 3
    lines = _lines(p.stderr)
    assert len(lines) == 1 and "is not a Kubernetes API server" in lines[0], p.stderr
    nodes = {n["node"]: n["status"] for n in json.loads(p.stdout)["tree"]}
    # Not "CRD not installed" and nodes skipped: nothing below was read.
    assert nodes["gateway"] == nodes["route"] == "unknown"
    assert "CRD" not in p.stderr


# ------------------------------------------------------------------ say what was seen

def test_zone_walk_names_nxdomain():
    from edgedoctor.probes.dnszone import find_zone

    class _Rec:
        def ask(self, name, qtype, server, role, purpose):
            return {"error": None, "rcode": "NXDOMAIN", "answer": [], "authority": [],
                    "server": "198.51.100.53:53"}, None

    zone, soa, why = find_zone(_Rec(), "app.example.com", [("198.51.100.53", 53)], "recursive")
    assert zone is None and "198.51.100.53:53 answers NXDOMAIN for app.example.com" in why
    assert "no SOA found" not in why


@pytest.mark.parametrize(("seconds", "text"), [
    (13 * 86400 - 1, "12 days"), (13 * 86400, "13 days"), (2 * 86400, "2 days"),
    (86400 + 5 * 3600 + 59, "1 day 5 hours"), (3 * 3600, "3 hours"), (40 * 60, "40 minutes"), (-1, "expired"),
])
def test_one_rounding_for_time_left(seconds, text):
    from edgedoctor.timefmt import time_left

    assert time_left(seconds) == text


def test_pager_line_fits_for_every_recording():
    from edgedoctor.collect import CheckOptions, gather
    from edgedoctor.diagnosis.engine import diagnose
    from edgedoctor.output.text import PAGER_WIDTH, summary_line
    from edgedoctor.recording import read_recording_doc

    for f in sorted((ROOT / "recordings").glob("*.yaml")):
        host = read_recording_doc(f)["evidence"]["host"]
        d = diagnose(gather(CheckOptions(host=host, replay=str(f))))
        line = summary_line(d)
        assert len(line) <= PAGER_WIDTH and "\n" not in line, (f.name, line)
        if d.root_cause:
            assert line.startswith(f"{d.verdict.upper()} {d.category} {d.root_cause['code']}: {host} ")
            assert " | fix: " in line, line


def test_demo_command_exits_1_because_warning():
    """The README's first command: the bundled incident is a WARNING, so it exits 1."""
    p = run("check", REC_HOST, "--replay", str(REC), "-o", "text")
    assert p.returncode == 1 and p.stdout.startswith("WARNING "), p.stdout[:200]
    assert os.path.exists(ROOT / "README.md")
    assert "exits 1" in (ROOT / "README.md").read_text()


def test_recording_failure_after_the_work_keeps_the_diagnosis(tmp_path, monkeypatch, capsys):
    """The path passed the check before the work, then the write failed (disk full, a
    directory removed meanwhile): the diagnosis is printed, the failure said, exit 3."""
    import edgedoctor.recording as recording

    def full(path, ev, **kw):
        raise recording.RecordingError(f"{path}: cannot write the recording: No space left on device")

    monkeypatch.setattr(recording, "write_recording", full)
    rc = main(["check", REC_HOST, "--replay", str(REC), "-o", "json", "--record", str(tmp_path / "r.yaml")])
    cap = capsys.readouterr()
    assert rc == 3
    assert json.loads(cap.out)["root_cause"]["code"] == "cert-cloudflare-7003-cleanup"
    assert _lines(cap.err) == [f"edgedoctor: {tmp_path / 'r.yaml'}: cannot write the recording: No space left on device"]
