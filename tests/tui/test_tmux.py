"""Smoke test in a real terminal: the real command in a detached tmux session.

tmux runs on its own socket (-L) so it never touches a user's sessions, and every
wait is a bounded poll on the text on screen, not a fixed sleep. Skipped when
tmux is missing locally; in CI (CI=true) a missing tmux is a failure.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from edgedoctor.model import NODE_ORDER

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-12-02T03:00:00Z"
WIDTH, HEIGHT = 120, 40


class Tmux:
    def __init__(self, tmp: Path) -> None:
        self.socket = f"edgedoctor-test-{uuid.uuid4().hex[:8]}"
        self.session = "smoke"
        self.tmp = tmp

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10, check=check)

    def start(self, *edgedoctor_args: str, size: tuple[int, int] = (WIDTH, HEIGHT)) -> None:
        width, height = size
        cmd = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "edgedoctor", *edgedoctor_args))
        env = {
            "XDG_STATE_HOME": str(self.tmp / "state"),
            "TERM": "xterm-256color",
            "PYTHONPATH": str(ROOT),
            "NO_COLOR": "1",
        }
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # After the app ends, the pane keeps its exit code on screen for the test to read.
        # COLUMNS/LINES from the test's own environment would override the pane's size.
        script = (
            f"cd {shlex.quote(str(ROOT))} && env -u COLUMNS -u LINES {exports} {cmd}; "
            'echo "edgedoctor-exit=$?"; sleep 60'
        )
        self._tmux("-f", "/dev/null", "new-session", "-d", "-s", self.session, "-x", str(width), "-y", str(height), script)
        self._tmux("resize-window", "-t", self.session, "-x", str(width), "-y", str(height), check=False)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.session).stdout

    def wait_for(self, *texts: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if all(t in screen for t in texts):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"not on screen after {timeout}s: {texts}\n{screen}")

    def wait_gone(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while text in self.screen():
            if time.monotonic() > deadline:
                raise AssertionError(f"still on screen after {timeout}s: {text}")
            time.sleep(0.1)

    def type(self, text: str) -> None:
        # One key at a time: a burst of keys can be taken as a paste by the app.
        for ch in text:
            self._tmux("send-keys", "-t", self.session, "-l", ch)

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", self.session, *keys)

    def close(self) -> None:
        self._tmux("kill-server", check=False)


@pytest.fixture
def tmux(tmp_path):
    if shutil.which("tmux") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tmux is needed for the TUI smoke test in CI (.ci/install.sh installs it)")
        pytest.skip("tmux is not installed")
    t = Tmux(tmp_path)
    yield t
    t.close()


def _tree_rows(screen: str) -> dict[str, str]:
    rows = {}
    for line in screen.splitlines():
        for node in NODE_ORDER:
            if "─ " in line and f" {node} " in line and node not in rows:
                rows[node] = line
    return rows


def test_type_a_host_and_read_the_tree(tmux, snapshot_of):
    tmux.start("tui", "--snapshot", snapshot_of("cloudflare"), "--offline", "--now", NOW)
    tmux.wait_for("fleet:", "app.example.com")  # no host: the fleet of the snapshot; h types one
    tmux.keys("h")
    tmux.wait_for("Type a hostname", "Host")
    tmux.type("app.example.com")
    tmux.keys("Enter")
    screen = tmux.wait_for("root cause: cert-cloudflare-7003-cleanup", "http-redirect")
    rows = _tree_rows(screen)
    assert list(rows) == list(NODE_ORDER), screen
    assert "FAIL" in rows["challenge"] and "ok" in rows["route"] and "skip" in rows["dns"]
    assert "source: snapshot (cloudflare.yaml)" in screen
    # help, back, quit: exit code 0
    tmux.keys("?")
    tmux.wait_for("edgedoctor keys")
    tmux.keys("Escape")
    # Gone first: a `q` right behind the Escape would be read as alt+q.
    tmux.wait_gone("edgedoctor keys")
    tmux.wait_for("Findings (2)")
    tmux.keys("q")
    tmux.wait_for("edgedoctor-exit=0")
    history = tmux.tmp / "state" / "edgedoctor" / "history"
    assert history.read_text().split() == ["app.example.com"]


def test_replay_opens_on_its_host(tmux, recording_of):
    tmux.start("tui", "--replay", recording_of("route-missing"))
    screen = tmux.wait_for("root cause: route-missing", "http-redirect")
    assert "host: api.example.com" in screen and "context: prod-eu" in screen
    assert list(_tree_rows(screen)) == list(NODE_ORDER)
    tmux.keys("q")
    tmux.wait_for("edgedoctor-exit=0")


def test_80x24_on_a_library_recording_and_ctrl_c(tmux):
    """The small terminal of htop and k9s: one-line banner, the root-cause node marked, the keys
    line fits, ctrl+c leaves with the terminal back."""
    tmux.start("tui", "--no-history", "--replay", str(ROOT / "recordings" / "k8s-gateway-no-httproute.yaml"),
               size=(80, 24))
    screen = tmux.wait_for("CRITICAL dns-internal-split-horizon", "Findings (1)")
    lines = screen.splitlines()
    assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
    dns = next(line for line in lines if " dns " in line and "─" in line)
    assert "FAIL" in dns and "ok" not in dns.split("FAIL")[0], dns
    assert any(line.strip().startswith("? help  q quit") for line in lines), screen
    tmux.keys("C-c")
    tmux.wait_for("edgedoctor-exit=0")
    assert not (tmux.tmp / "state" / "edgedoctor" / "history").exists()
