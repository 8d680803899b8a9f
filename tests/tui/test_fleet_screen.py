"""The fleet screen (`edgedoctor tui` without a host): hosts grouped by verdict then Gateway,
filter, Enter/Esc to a host's diagnosis and back, ctrl+r re-sweeps, a slow host holds no other."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from textual.widgets import DataTable

from edgedoctor.cli import build_parser
from edgedoctor.collect import CheckOptions
from edgedoctor.fleet.sweep import VERDICT_RANK, SweepOptions, run_sweep
from edgedoctor.tui.app import EdgeDoctorApp
from edgedoctor.tui.fleetrun import FleetSource
from edgedoctor.tui.history import History
from edgedoctor.tui.launch import prepare_all
from edgedoctor.tui.session import Checker
from tests import casekit, fleetkit
from tests.tui.kit import plain, settle

ROOT = Path(__file__).resolve().parents[2]
SWEEP = str(ROOT / "recordings" / "fleet" / "shop-prod.yaml")
SIZES = [(80, 24), (120, 40)]


def fleet_app(*args: str) -> EdgeDoctorApp:
    checker, host, history, fleet = prepare_all(build_parser().parse_args(["tui", "--no-history", *args]))
    assert host is None and fleet is not None
    return EdgeDoctorApp(checker, host, history, fleet=fleet)


def rows(app) -> list[tuple[str, str]]:
    """(kind, text of the first cell) of every row of the fleet table."""
    t = app.fleet_screen.query_one(DataTable)
    out = []
    for i in range(t.row_count):
        key = t.coordinate_to_cell_key((i, 0)).row_key.value
        out.append(("group" if key.startswith("group\t") else "host", str(t.get_row_at(i)[0]).strip()))
    return out


def expected_groups() -> list[tuple[str, str, list[str]]]:
    """What the sweep engine says of the recording, grouped as the screen should show it."""
    by: dict[tuple[str, str], list[str]] = {}
    for h in run_sweep(SweepOptions(replay=SWEEP)).hosts:
        by.setdefault((h.verdict, h.gateway or "(no Gateway)"), []).append(h.host)
    order = sorted(by, key=lambda k: (-VERDICT_RANK[k[0]], k[1]))
    return [(v, gw, sorted(by[(v, gw)])) for v, gw in order]


@pytest.mark.parametrize("size", SIZES)
async def test_hosts_grouped_by_verdict_then_gateway_and_the_gateway_wide_cause_said_once(size):
    app = fleet_app("--replay", SWEEP)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        assert type(app.screen).__name__ == "FleetScreen"
        want: list[tuple[str, str]] = []
        for verdict, gw, hosts in expected_groups():
            want.append(("group", f"{verdict.upper()} · {gw} · {len(hosts)} host{'s' if len(hosts) != 1 else ''}"))
            want += [("host", h) for h in hosts]
        assert rows(app) == want
        # The recording's Gateway with its data plane down: a critical group, its cause said once.
        assert ("group", "CRITICAL · gateway/internal · 3 hosts") in want
        status = " ".join(plain(app.fleet_screen.query_one("#fleet-status")).split())
        assert status.count("gateway-not-programmed") == 1 and "gateway/internal" in status, status
        keys = plain(app.fleet_screen.query_one("#keys")).strip()
        assert len(keys) <= size[0] and "enter open host" in keys and "/ filter" in keys


@pytest.mark.parametrize("size", SIZES)
async def test_filter_enter_esc_round_trip_and_ctrl_r_resweeps(size):
    app = fleet_app("--replay", SWEEP)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        every = [t for k, t in rows(app) if k == "host"]
        await pilot.press("slash", *"internal")
        await pilot.pause()
        shown = [t for k, t in rows(app) if k == "host"]
        assert shown == ["chat.example.com", "hr.example.com", "wiki.example.com"]
        await pilot.press("enter")  # keeps the filter, back to the table
        await pilot.pause()
        await pilot.press("j", "enter")  # the second host shown
        await settle(pilot)
        host_screen = app.screen
        assert type(host_screen).__name__ == "FleetHostScreen" and host_screen.host == "hr.example.com"
        assert app.main_screen is host_screen
        sweep = {h.host: h for h in run_sweep(SweepOptions(replay=SWEEP)).hosts}
        assert host_screen.diagnosis.root_cause["code"] == sweep["hr.example.com"].code
        assert host_screen.query_one("#tree").display
        await pilot.press("ctrl+r")  # the host screen's own re-check of the recorded evidence
        await settle(pilot)
        assert host_screen.error is None and host_screen.diagnosis.root_cause["code"] == sweep["hr.example.com"].code
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.fleet_screen and app.main_screen is None
        await pilot.press("escape")  # clears the filter
        await pilot.pause()
        assert [t for k, t in rows(app) if k == "host"] == every
        before = app.fleet_screen.generation
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert app.fleet_screen.generation == before + 1
        assert [t for k, t in rows(app) if k == "host"] == every


async def test_sort_cycles_within_groups():
    app = fleet_app("--replay", SWEEP)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await pilot.pause()
        assert app.fleet_screen.sort == "code"
        hosts = app.fleet_screen.records
        # Within the first group (critical, gateway/external) the hosts are now in code order.
        first = []
        for kind, text in rows(app)[1:]:
            if kind == "group":
                break
            first.append(text)
        codes = [next(r.code for r in hosts.values() if r.host == h) for h in first]
        assert codes == sorted(codes) and len(first) >= 2


async def test_a_slow_host_does_not_hold_the_others(tmp_path, monkeypatch):
    """Live probes, faked: one host's probe waits for the test; the others fill in meanwhile."""
    import edgedoctor.fleet.sweep as sweep

    snap = casekit.write_snapshot(fleetkit.fleet_objects(), tmp_path / "fleet.yaml")
    release = threading.Event()
    slow = "orders.example.com"

    def probe(self, ev, inputs):
        if ev.host == slow:
            release.wait(30)
        ev.dns, ev.tls, ev.http = None, None, None

    monkeypatch.setattr(sweep._Prober, "probe", probe)
    base = CheckOptions(host="", snapshots=[str(snap)], now=casekit.NOW)
    opts = SweepOptions(snapshots=[str(snap)], now=casekit.NOW, parallel=4)
    app = EdgeDoctorApp(Checker(base), None, History(None), fleet=FleetSource(opts, Checker(base)))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.fleet_screen
            others = set(fleetkit.HEALTHY) | set(fleetkit.INTERNAL) | set(fleetkit.BROKEN) - {slow}
            for _ in range(400):
                await pilot.pause(0.02)
                if {r.host for r in screen.records.values()} >= others:
                    break
            got = {r.host for r in screen.records.values()}
            assert got == others and screen.sweeping, got
            assert slow not in {t for k, t in rows(app) if k == "host"}
            assert "sweeping" in plain(screen.query_one("#fleet-status"))
            release.set()
            await settle(pilot)
            assert not screen.sweeping and slow in {r.host for r in screen.records.values()}
    finally:
        release.set()


async def test_timeout_bounds_the_fleets_sweep_as_sweep_timeout_does(tmp_path, monkeypatch):
    """`edgedoctor tui --timeout N` without a host: N seconds is the whole sweep's deadline, as
    for `edgedoctor sweep --timeout N`, and every host's probes get at most what is left of it.
    Without --timeout the fleet takes the sweep's default, not a check's 20 s."""
    import edgedoctor.collect as collect
    from edgedoctor.cli.sweep import sweep_options
    from edgedoctor.fleet.sweep import DEFAULT_TIMEOUT, HOST_TIMEOUT

    snap = str(casekit.write_snapshot(fleetkit.fleet_objects(), tmp_path / "fleet.yaml"))
    budgets: list[float] = []
    # The live probes, faked: record the time each host's probes were given, answer nothing.
    monkeypatch.setattr(collect, "probe_plan", lambda opts, args, timeout, **kw: budgets.append(timeout))
    monkeypatch.setattr(collect, "run_plan", lambda plan: (None, None, None))
    hosts = set(fleetkit.HEALTHY) | set(fleetkit.INTERNAL) | set(fleetkit.BROKEN)
    for given, deadline in ((["--timeout", "3"], 3.0), ([], DEFAULT_TIMEOUT)):
        flags = ["--snapshot", snap, "--now", casekit.NOW, *given]
        app = fleet_app(*flags)
        sweep = sweep_options(build_parser().parse_args(["sweep", *flags]))
        assert app.fleet_screen.source.options.timeout == sweep.timeout == deadline
        budgets.clear()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            assert {r.host for r in app.fleet_screen.records.values()} == hosts
        assert len(budgets) == len(hosts)
        assert all(0 < b <= min(deadline, HOST_TIMEOUT) for b in budgets), budgets
        if not given:
            assert min(budgets) > 3.0  # the 3 s above came from --timeout, not from elsewhere
    # A host's own check keeps a check's deadline, given or not.
    parse = build_parser().parse_args
    one = ["tui", "--no-history", "app.example.com", "--snapshot", snap, "--offline"]
    assert prepare_all(parse(one))[0].base.timeout == 20.0
    assert prepare_all(parse([*one, "--timeout", "7"]))[0].base.timeout == 7.0


def test_launch_picks_the_fleet_or_one_host(tmp_path, monkeypatch, recording_of):
    parse = build_parser().parse_args
    # A check's recording still opens its one host; a sweep recording opens the fleet.
    _, host, _, fleet = prepare_all(parse(["tui", "--no-history", "--replay", recording_of("cloudflare")]))
    assert host == "app.example.com" and fleet is None
    _, host, _, fleet = prepare_all(parse(["tui", "--no-history", "--replay", SWEEP]))
    assert host is None and fleet is not None and fleet.options.replay == SWEEP
    # A host given opens the host screen directly.
    _, host, _, fleet = prepare_all(parse(["tui", "--no-history", "app.example.com", "--snapshot",
                                           str(ROOT / "tests" / "snapshots" / "base"), "--offline"]))
    assert host == "app.example.com" and fleet is None
    # No host and no kubeconfig context at all: the host input, as before the fleet screen.
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    _, host, _, fleet = prepare_all(parse(["tui", "--no-history"]))
    assert host is None and fleet is None
    # A kubeconfig with a current context: its fleet.
    kc = tmp_path / "config"
    kc.write_text("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
                  "users: [{name: u, user: {}}]\ncontexts: [{name: prod-01, context: {cluster: c, user: u}}]\n"
                  "current-context: prod-01\n")
    monkeypatch.setenv("KUBECONFIG", str(kc))
    _, host, _, fleet = prepare_all(parse(["tui", "--no-history"]))
    assert host is None and fleet is not None and not fleet.options.all_contexts
    _, _, _, fleet = prepare_all(parse(["tui", "--no-history", "--all-contexts"]))
    assert fleet is not None and fleet.options.all_contexts


def test_a_host_with_all_contexts_is_refused_in_one_line():
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "edgedoctor", "tui", "app.example.com", "--all-contexts", "--replay", SWEEP],
                       capture_output=True, text=True, cwd=ROOT, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 3 and p.stderr.count("\n") == 1 and "--all-contexts" in p.stderr, p.stderr


async def test_h_types_any_host_and_esc_comes_back():
    app = fleet_app("--replay", SWEEP)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("h")
        await pilot.pause()
        assert type(app.screen).__name__ == "FleetHostScreen" and app.screen.host is None
        assert app.screen.focused is app.screen.query_one("#host")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.fleet_screen
