"""Time from start to the first screen showing a replayed diagnosis (goals: under 1 s, and
within 1.5x of a bare one-label Textual app started the same way).

Three figures:
  cold in-process  a fresh interpreter: import the app, run it headless (run_test),
                   until the tree has every node with its status
  warm in-process  the same again in the same interpreter (imports paid)
  tmux             the real command `python -m edgedoctor tui --replay FILE` in a
                   detached tmux session (120x40, the same environment), until the host,
                   the root cause and the last tree node are painted (skipped without
                   tmux); alternating run for run with a bare Textual app showing one
                   label, started the same way and timed until its label is painted: the
                   floor of any Textual app on this machine. The ratio of the medians is
                   the figure. The TUI reads and diagnoses the replay in a forked child
                   while it imports Textual: on one core the wall time would not gain that.

Measured on the project's 2-core machine, cert-manager-7003-cleanup.yaml at 120x40, bare app
alternating with the TUI (issue 14 point 6):
  before (56b2c62), the one quiet moment (load 0.1): tmux 403 ms against 186 ms, 2.17x.
  after, with the load of six other sessions' test runs (load 10-16), tmux wall medians
  swing 1.49x-2.8x run to run; the CPU each process had used when its screen was seen is
  steadier: before 500 ms (2.38x), after 360 ms (1.71x; 450 ms with the forked reader) against
  210 ms for the bare app, in the same interleaved runs. Inside the process (CPU at the write
  of the painted screen, the bare app likewise): after 320-370 ms against 215-230 ms.
  At a quieter moment (load 2.5): tmux medians 545-649 ms against 273-275 ms (2.0-2.4x; the
  fastest runs 396-401 ms against 239-252 ms, 1.6x); CPU 360-370 ms against 210 ms (1.7x).
Then a lighter first frame (1f7893a -> this version): the playbook layer, json, redact and
the object lookups load when first used; one widget (TabsPreview) draws the detail pane's
tab line in the first frame and Textual's tabs, a dozen widgets, replace it right after in
one repaint; the first screen resume does not restyle every widget a second time. The two
trees alternated, three rounds of seven runs each, same moments:
  quiet (load 0.2-0.6): tmux 300-310 ms against 194-203 ms (1.52x-1.59x) before, 266-272 ms
  against 192-203 ms (1.33x-1.42x) after; the TUI's CPU 280-290 ms -> 240-250 ms (bare 170-180;
  with the forked reader 350-360 -> 310-320 ms). The slowest recording of the library
  (--runs 5, quiet): before landing-page-instead-of-app.yaml 295 ms against 189 ms (1.56x),
  after dns-cloudflare-proxied.yaml 268 ms against 191 ms (1.40x); library median warm
  in-process 92 -> 67 ms.
  one core kept busy (a `while True: pass` process, as the lead's sweep benchmark does),
  two rounds of seven: before 399-404 ms against 208-213 ms (1.90x-1.92x), after 373-379 ms
  against 202-214 ms (1.74x-1.87x); the TUI's CPU 290 -> 250 ms, with the reader 350-360 ->
  310-320 ms, against 160-170 ms. Other sessions' tests at load 1-2: after 1.36x-1.70x.
The 1.5x goal is met on a quiet machine, not with a core taken: the app and its forked
reader (~70 ms of CPU: YAML, the cryptography package, the engine) then share one core, and
their sum is about 1.9x the bare app's. What is left is spread thin: the reader's imports
(cryptography.x509 alone ~30 ms), Textual's CSS parsing of each widget class used (about
1 ms each), styling, laying out and drawing ~20 widgets (the tree and the findings table
drawing most), the CLI's parser.

Usage: python benchmarks/tui_first_screen.py [RECORDING] [--runs N]
Without RECORDING it first times every recording of recordings/ warm in one interpreter, at
120x40 and 80x24 (the fastest of --runs, so that the load of other processes is not
counted), prints the median and the slowest recordings, and then measures the slowest
one cold and in tmux. With RECORDING only that one is measured. Informational: nothing
here fails on a slow machine.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL = 1.0
GOAL_RATIO = 1.5


def default_recording(tmp: Path) -> str:
    lib = ROOT / "recordings" / "cert-manager-7003-cleanup.yaml"
    if lib.is_file():
        return str(lib)
    sys.path.insert(0, str(ROOT))
    from edgedoctor.evidence import Evidence
    from edgedoctor.recording import write_recording
    from edgedoctor.snapshot import load_snapshot
    from tests import casekit

    case = next(c for c in casekit.load_cases() if c["name"] == "cert-cloudflare-7003-cleanup")
    snap = casekit.write_snapshot(casekit.apply_edits(casekit.base_objects(), casekit.expand(case["broken"])), tmp / "s.yaml")
    ev = Evidence(host="app.example.com", now=casekit.NOW, source={"kind": "live"}, cluster=load_snapshot([snap]))
    out = tmp / "bench-recording.yaml"
    write_recording(out, ev)
    return str(out)


IN_PROCESS = r"""
import asyncio, sys, time
t0 = time.perf_counter()
from edgedoctor.cli import build_parser
from edgedoctor.model import NODE_ORDER
from edgedoctor.tui.launch import build_app

async def first_screen(t_start):
    # the same path as `edgedoctor tui --replay FILE`, with run_test instead of run
    app = build_app(build_parser().parse_args(["tui", "--replay", sys.argv[1]]))
    from edgedoctor.tui.widgets.tree import DiagnosisTree
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.main_screen.query_one(DiagnosisTree)
        while not (len(tree.root.children) == len(NODE_ORDER) and len(tree.results) == len(NODE_ORDER)):
            await pilot.pause(0.005)
        return time.perf_counter() - t_start

cold = asyncio.run(first_screen(t0))
warm = []
for _ in range(int(sys.argv[2])):
    warm.append(asyncio.run(first_screen(time.perf_counter())))
print(cold, *warm)
"""


LIBRARY = r"""
import asyncio, sys, time
from edgedoctor.cli import build_parser
from edgedoctor.model import NODE_ORDER
from edgedoctor.tui.launch import build_app
from edgedoctor.tui.widgets.tree import DiagnosisTree

async def first_screen(path, size):
    t0 = time.perf_counter()
    app = build_app(build_parser().parse_args(["tui", "--replay", path]))
    async with app.run_test(size=size) as pilot:
        tree = app.main_screen.query_one(DiagnosisTree)
        while not (len(tree.root.children) == len(NODE_ORDER) and len(tree.results) == len(NODE_ORDER)):
            await pilot.pause(0.005)
        return time.perf_counter() - t0

runs, paths = int(sys.argv[1]), sys.argv[2:]
asyncio.run(first_screen(paths[0], (120, 40)))  # imports paid once
for r in range(runs):  # rounds over the whole library: a busy moment hits every file alike
    for path in paths:
        for w, h in ((120, 40), (80, 24)):
            print(path, w, h, asyncio.run(first_screen(path, (w, h))), flush=True)
"""


def library(paths: list[str], runs: int) -> dict[tuple[str, str], float]:
    """(recording, size) -> fastest warm first screen, in seconds."""
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
           "EDGEDOCTOR_NO_HISTORY": "1", "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-c", LIBRARY, str(runs), *paths], capture_output=True, text=True,
                       cwd=ROOT, env=env, timeout=1800)
    if p.returncode != 0:
        raise SystemExit(f"library run failed:\n{p.stderr}")
    best: dict[tuple[str, str], float] = {}
    for line in p.stdout.splitlines():
        path, w, h, t = line.split()
        key = (path, f"{w}x{h}")
        best[key] = min(best.get(key, float("inf")), float(t))
    return best


def in_process(recording: str, runs: int) -> tuple[float, list[float]]:
    # As an installed package runs: with bytecode (this machine may set PYTHONDONTWRITEBYTECODE).
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
           "EDGEDOCTOR_NO_HISTORY": "1", "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-c", IN_PROCESS, recording, str(runs)], capture_output=True, text=True,
                       cwd=ROOT, env=env, timeout=120)
    if p.returncode != 0:
        raise SystemExit(f"in-process run failed:\n{p.stderr}")
    cold, *warm = (float(x) for x in p.stdout.split())
    return cold, warm


BARE_APP = """
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("bare-textual-ready")
Bare().run()
"""


# command -> (CPU seconds of the process, and with its reaped children) when its screen was ready
CPU: dict[str, list[tuple[float, float]]] = {}


def _cpu_seconds(shell_pid: str) -> tuple[float, float] | None:
    """CPU time of the program the pane's shell started, alone and with its children once
    reaped (the TUI's forked reader), from /proc; None where there is no /proc."""
    try:
        kids = Path(f"/proc/{shell_pid}/task/{shell_pid}/children").read_text().split()
        fields = Path(f"/proc/{kids[0]}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    tick = os.sysconf("SC_CLK_TCK")
    return (utime + stime) / tick, (utime + stime + cutime + cstime) / tick


def tmux_run(argv: list[str], ready: Callable[[str], bool], tmp: Path) -> float | None:
    """Seconds from starting `argv` in a fresh tmux server until `ready(screen)`; the CPU
    time used by then goes to CPU[argv[-1]] (a figure that the load of others barely moves)."""
    if shutil.which("tmux") is None:
        return None
    sock = f"edgedoctor-bench-{uuid.uuid4().hex[:8]}"
    cmd = " ".join(shlex.quote(a) for a in argv)
    script = (f"cd {shlex.quote(str(ROOT))} && env -u COLUMNS -u LINES -u PYTHONDONTWRITEBYTECODE XDG_STATE_HOME={shlex.quote(str(tmp))} "
              f"EDGEDOCTOR_NO_HISTORY=1 TERM=xterm-256color {cmd}; sleep 30")

    def tmux(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True, timeout=10)

    try:
        t0 = time.perf_counter()
        tmux("-f", "/dev/null", "new-session", "-d", "-s", "b", "-x", "120", "-y", "40", script)
        deadline = t0 + 30
        while time.perf_counter() < deadline:
            if ready(tmux("capture-pane", "-p", "-t", "b").stdout):
                wall = time.perf_counter() - t0
                cpu = _cpu_seconds(tmux("display", "-p", "-t", "b", "#{pane_pid}").stdout.strip())
                if cpu is not None:
                    CPU.setdefault(argv[-1], []).append(cpu)
                return wall
            time.sleep(0.01)
        return None
    finally:
        tmux("kill-server")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recording", nargs="?")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        recording = args.recording
        if recording is None and (ROOT / "recordings").is_dir():
            paths = [str(p) for p in sorted((ROOT / "recordings").glob("*.yaml"))]
            best = library(paths, max(1, min(args.runs, 3)))
            ranked = sorted(best.items(), key=lambda kv: kv[1])
            times = [t for _, t in ranked]
            print(f"library: {len(paths)} recordings x 2 sizes, warm, fastest of {max(1, min(args.runs, 3))}")
            print(f"  median {statistics.median(times) * 1000:6.0f} ms, fastest {times[0] * 1000:6.0f} ms")
            for size in ("120x40", "80x24"):
                sized = [t for (_, s), t in ranked if s == size]
                print(f"  {size}: median {statistics.median(sized) * 1000:6.0f} ms")
            print("  slowest:")
            for (path, size), t in ranked[-5:][::-1]:
                print(f"    {t * 1000:6.0f} ms  {size:6}  {os.path.basename(path)}")
            recording = ranked[-1][0][0]
            print(f"the slowest recording, measured cold and in tmux: {os.path.basename(recording)}")
        recording = recording or default_recording(tmp)
        sys.path.insert(0, str(ROOT))
        from edgedoctor.recording import load_recording

        host = load_recording(recording)[0].host
        print(f"recording: {os.path.basename(recording)} ({host}); load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} CPUs")
        cold, warm = in_process(recording, args.runs)
        print(f"in-process, cold (imports included): {cold * 1000:7.0f} ms")
        print(f"in-process, warm (median of {len(warm)}):    {statistics.median(warm) * 1000:7.0f} ms")
        def shown(screen: str) -> bool:
            return "http-redirect" in screen and host in screen and ("root cause:" in screen or "works end to end" in screen)

        edgedoctor = [sys.executable, "-m", "edgedoctor", "tui", "--replay", recording]
        runs: list[float] = []
        bare: list[float] = []
        for _ in range(max(3, args.runs)):  # alternating: a busy moment hits both alike
            for argv, ready, into in ((edgedoctor, shown, runs),
                                      ([sys.executable, "-c", BARE_APP], lambda s: "bare-textual-ready" in s, bare)):
                t = tmux_run(argv, ready, tmp)
                if t is not None:
                    into.append(t)
        if runs:
            print(f"tmux, real command (median of {len(runs)}):  {statistics.median(runs) * 1000:7.0f} ms "
                  f"(polling capture-pane every 10 ms; all: {' '.join(f'{t * 1000:.0f}' for t in runs)})")
        else:
            print("tmux: not measured (tmux missing, or the screen never showed the tree)")
        if bare:
            print(f"tmux, a bare Textual app (floor):  {statistics.median(bare) * 1000:7.0f} ms "
                  f"(all: {' '.join(f'{t * 1000:.0f}' for t in bare)})")
        if runs and bare:
            ratio = statistics.median(runs) / statistics.median(bare)
            print(f"ratio to the bare app: {ratio:.2f}x (goal {GOAL_RATIO}x: {'met' if ratio <= GOAL_RATIO else 'NOT met'})")
        ours_cpu, bare_cpu = CPU.get(recording), CPU.get(BARE_APP)
        if ours_cpu and bare_cpu:
            # Read a moment after the screen was seen, so a little of what follows it counts too.
            floor = statistics.median(b for b, _ in bare_cpu)
            alone, whole = statistics.median(a for a, _ in ours_cpu), statistics.median(w for _, w in ours_cpu)
            print(f"CPU used by then (medians): the TUI's process {alone * 1000:.0f} ms ({alone / floor:.2f}x), with its "
                  f"forked reader {whole * 1000:.0f} ms ({whole / floor:.2f}x), the bare app {floor * 1000:.0f} ms")
        worst = max([cold, statistics.median(runs) if runs else 0.0])
        print(f"goal: first screen under {GOAL * 1000:.0f} ms: {'met' if worst < GOAL else 'NOT met'} "
              f"(slowest figure {worst * 1000:.0f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
