"""`edgedoctor tui` from the command line: bad input before the app starts, and import hygiene."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-12-02T03:00:00Z"


def run(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgedoctor", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, stdin=subprocess.DEVNULL, **kw)


@pytest.mark.parametrize(
    "args, says",
    [
        (["--replay", "/nonexistent/rec.yaml"], "cannot read"),
        (["not a host!", "--snapshot", "tests/snapshots/base", "--offline"], "host"),
        (["--snapshot", "/nonexistent/dir", "--offline"], "/nonexistent/dir"),
        (["app.example.com", "--snapshot", "tests/snapshots/base", "--now", "yesterday"], "--now"),
        (["app.example.com", "--snapshot", "tests/snapshots/base", "--nameserver", "not-an-address:x"], "not-an-address"),
    ],
)
def test_bad_input_is_one_line_and_exit_3(args, says):
    p = run("tui", *args)
    assert p.returncode == 3, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgedoctor: ") and says in lines[0], p.stderr
    assert "Traceback" not in p.stderr


def test_replay_of_another_host_is_refused_before_the_app(recording_of):
    p = run("tui", "www.example.com", "--replay", recording_of("cloudflare"))
    assert p.returncode == 3
    assert "is a recording of app.example.com, not www.example.com" in p.stderr


def test_launch_module_does_not_import_textual():
    code = (
        "import sys\n"
        "import edgedoctor.cli, edgedoctor.tui.launch, edgedoctor.tui.session, edgedoctor.tui.objects\n"
        "print('LOADED', sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'kubernetes'}))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "LOADED []" in p.stdout


@pytest.mark.parametrize("source", ["replay", "snapshot"])
def test_tui_on_a_replay_or_snapshot_never_loads_the_kubernetes_client(source, recording_of, snapshot_of):
    flag = ["--replay", recording_of("cloudflare")] if source == "replay" else ["--snapshot", snapshot_of("cloudflare"), "--offline"]
    code = f"""
import asyncio, sys
from edgedoctor.cli import build_parser
from edgedoctor.tui.launch import prepare
from edgedoctor.tui.app import EdgeDoctorApp

args = build_parser().parse_args(["tui", "app.example.com", *{flag!r}, "--now", {NOW!r}])
checker, host, history = prepare(args)

async def main():
    app = EdgeDoctorApp(checker, host, history)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.main_screen.open_playbook("cleanup-stuck-orders", "cert-cloudflare-7003-cleanup")
        await app.workers.wait_for_complete()
        await pilot.pause()
        print("ROOT", app.main_screen.diagnosis.root_cause["code"], type(app.screen).__name__)

asyncio.run(main())
print("LOADED", sorted({{m.split('.')[0] for m in sys.modules}} & {{'kubernetes'}}))
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                       env={"EDGEDOCTOR_NO_HISTORY": "1", "PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, p.stderr
    assert "ROOT cert-cloudflare-7003-cleanup WalkthroughScreen" in p.stdout
    assert "LOADED []" in p.stdout


def test_replay_read_before_the_app_is_what_gather_gives(recording_of):
    from edgedoctor.cli import build_parser
    from edgedoctor.collect import CheckOptions, gather
    from edgedoctor.tui.launch import prepare

    args = build_parser().parse_args(["tui", "--replay", recording_of("cloudflare"), "--now", "2026-12-03T00:00:00Z"])
    checker, host, _ = prepare(args)
    assert host == "app.example.com" and checker.preloaded is not None
    first = checker.read_cluster(host)
    assert checker.preloaded is None  # used once: ctrl+r reads the file again
    again = checker.read_cluster(host)
    direct = gather(CheckOptions(host=host, replay=recording_of("cloudflare"), now="2026-12-03T00:00:00Z"))
    assert first.to_dict() == again.to_dict() == direct.to_dict()
    assert first.now == "2026-12-03T00:00:00Z"


@pytest.mark.parametrize("flag, env, kept", [
    ([], {}, True),
    (["--no-history"], {}, False),
    ([], {"EDGEDOCTOR_NO_HISTORY": "1"}, False),
    ([], {"EDGEDOCTOR_NO_HISTORY": "0"}, True),
])
def test_the_history_file_is_in_the_xdg_state_dir_unless_turned_off(flag, env, kept, tmp_path, monkeypatch, snapshot_of):
    from edgedoctor.cli import build_parser
    from edgedoctor.tui.launch import prepare

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("EDGEDOCTOR_NO_HISTORY", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    args = build_parser().parse_args(["tui", *flag, "--snapshot", snapshot_of("cloudflare"), "--offline"])
    _checker, _host, history = prepare(args)
    history.add("app.example.com")
    path = tmp_path / "state" / "edgedoctor" / "history"
    assert path.exists() == kept
    assert (history.path == path) == kept
    assert history.entries == ["app.example.com"]  # kept in memory either way


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_quitting_at_the_first_frame_raises_nothing(size, recording_of):
    """What the screen makes after its first frame (the hidden tabs, the filter input) is
    not in the way of an app that quits at once (the benchmark's run, a quick `q`)."""
    import gc

    from edgedoctor.cli import build_parser
    from edgedoctor.model import NODE_ORDER
    from edgedoctor.tui.launch import build_app
    from edgedoctor.tui.widgets.tree import DiagnosisTree

    app = build_app(build_parser().parse_args(["tui", "--no-history", "--replay", recording_of("cloudflare")]))
    async with app.run_test(size=size) as pilot:  # an error in the app is raised at its end
        tree = app.main_screen.query_one(DiagnosisTree)
        for _ in range(1000):
            if len(tree.results) == len(NODE_ORDER):
                break
            await pilot.pause(0.005)
        assert len(tree.results) == len(NODE_ORDER)
    assert gc.isenabled()  # paused by build_app for the first screen, resumed after it
