"""Pilot tests: the flows an on-call engineer goes through, on snapshot and replay scenarios."""

from __future__ import annotations

import yaml

from edgedoctor.model import NODE_ORDER
from edgedoctor.recording import load_recording
from edgedoctor.tui.screens.help import HelpScreen
from edgedoctor.tui.widgets.detail import DetailPane
from edgedoctor.tui.widgets.findings import FindingsTable
from edgedoctor.tui.widgets.hostinput import HostInput
from edgedoctor.tui.widgets.tree import DiagnosisTree
from tests.tui.kit import (
    SIZE,
    SlowProbes,
    make_app,
    plain,
    replay_checker,
    settle,
    snapshot_checker,
)


def _static_text(app, selector: str) -> str:
    return plain(app.main_screen.query_one(selector))


def _tree_lines(app) -> dict[str, str]:
    tree = app.main_screen.query_one(DiagnosisTree)
    return {c.data: str(c.label) for c in tree.root.children}


async def _type(pilot, text: str) -> None:
    await pilot.press(*list(text))


async def test_enter_a_host_and_see_the_tree(snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")))
    async with app.run_test(size=SIZE) as pilot:
        main = app.main_screen
        assert main.focused is main.query_one(HostInput)
        assert _tree_lines(app) == {}
        await _type(pilot, "App.Example.com")
        await pilot.press("enter")
        await settle(pilot)
        lines = _tree_lines(app)
        assert list(lines) == list(NODE_ORDER)
        # statuses come from the engine's diagnosis, not from the screen
        for node in NODE_ORDER:
            status = main.diagnosis.node(node).status
            assert {"pass": "ok", "fail": "FAIL", "warn": "warn", "skip": "skip"}[status] in lines[node]
        assert "FAIL" in lines["challenge"] and "ok" in lines["route"]
        verdict = _static_text(app, "#verdict")
        assert "CRITICAL" in verdict and "cert-cloudflare-7003-cleanup" in verdict
        assert "cert-issuance" in verdict
        header = _static_text(app, "#header")
        assert "snapshot (cloudflare.yaml)" in header and "app.example.com" in header
        assert "2026-12-02T03:00:00Z" in header
        table = main.query_one(FindingsTable)
        assert [f.code for f in table.shown] == main.diagnosis.codes
        assert main.host == "app.example.com"  # normalised


async def test_bad_host_is_an_error_line_not_a_crash(snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")))
    async with app.run_test(size=SIZE) as pilot:
        await _type(pilot, "not a host!")
        await pilot.press("enter")
        await settle(pilot)
        err = app.main_screen.query_one("#host-error")
        assert err.display and "not a hostname" in plain(err)
        assert app.main_screen.diagnosis is None
        assert app.is_running


async def test_replay_of_another_host_says_so(recording_of):
    app = make_app(replay_checker(recording_of("cloudflare")))
    async with app.run_test(size=SIZE) as pilot:
        await _type(pilot, "other.example.com")
        await pilot.press("enter")
        await settle(pilot)
        verdict = _static_text(app, "#verdict")
        assert "ERROR" in verdict and "recording of app.example.com" in verdict
        assert app.main_screen.diagnosis is None


async def test_replay_shows_the_recorded_context(recording_of):
    app = make_app(replay_checker(recording_of("cloudflare")), host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        header = _static_text(app, "#header")
        assert "replay (cloudflare.yaml)" in header
        assert "prod-eu" in header and "prod-eu-1" in header
        assert list(_tree_lines(app)) == list(NODE_ORDER)
        # a replay has no probe phase: nothing spins
        assert not any("probing" in line for line in _tree_lines(app).values())


async def test_history_walks_back_with_up(snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("route-missing")))
    async with app.run_test(size=SIZE) as pilot:
        for host in ("app.example.com", "api.example.com"):
            await pilot.press("h")
            box = app.main_screen.query_one(HostInput)
            box.value = ""
            await _type(pilot, host)
            await pilot.press("enter")
            await settle(pilot)
        await pilot.press("h")
        box = app.main_screen.query_one(HostInput)
        box.value = ""
        await pilot.press("up")
        assert box.value == "api.example.com"
        await pilot.press("up")
        assert box.value == "app.example.com"
        await pilot.press("down")
        assert box.value == "api.example.com"


async def test_node_detail_yaml_commands_and_explain(snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        main = app.main_screen
        tree = main.query_one(DiagnosisTree)
        # the first screen points at the root cause's node
        assert tree.cursor_node.data == "challenge"
        tree.focus()
        await pilot.press("up")
        assert tree.cursor_node.data == "order"
        await pilot.press("down")
        pane = main.query_one(DetailPane)
        assert pane.node == "challenge"
        await pilot.press("y")
        assert pane.tab == "yaml"
        text = plain(pane.query_one("#yaml"))
        assert "kind: Challenge" in text and "wildcard-example-com-1-2264498345-1850000000" in text
        await pilot.press("d")
        assert pane.tab == "evidence"
        assert "cert-cloudflare-7003-cleanup" in plain(pane.query_one("#evidence"))
        await pilot.press("x")
        explain = plain(pane.query_one("#explain"))
        assert "cert-manager Cloudflare cleanup bug" in explain and "Remedy" in explain
        await pilot.press("c")
        root = main.diagnosis.findings[0]
        assert app.clipboard == root.commands[0]
        assert pane.tab == "commands"
        # the second command, chosen in the list
        pane.query_one("#commands").focus()
        await pilot.press("down", "enter")
        assert app.clipboard == root.commands[1]


async def test_secret_node_yaml_is_redacted(snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("healthy")), host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        main = app.main_screen
        tree = main.query_one(DiagnosisTree)
        tree.move_to("secret")
        await pilot.pause()
        await pilot.press("y")
        text = plain(main.query_one(DetailPane).query_one("#yaml"))
        assert "kind: Secret" in text
        assert "PRIVATE KEY" not in text
        # only public certificates keep a value: no "tls.key: <data>" line
        import re

        assert not re.search(r"^\s*tls\.key:", text, re.M)
        assert re.search(r"^\s*tls\.crt:", text, re.M)


async def test_filter_narrows_tree_and_findings(snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        main = app.main_screen
        await pilot.press("slash")
        await _type(pilot, "secret")
        tree = main.query_one(DiagnosisTree)
        table = main.query_one(FindingsTable)
        d = main.diagnosis
        expected = [n.node for n in d.tree if "secret" in f"{n.node} {n.summary}".lower()]
        assert "secret" in expected and "route" not in expected
        assert tree.visible_nodes == expected
        assert [f.code for f in table.shown] == [f.code for f in d.findings if "secret" in (f.code + f.message).lower()]
        assert "cert-secret-missing" in [f.code for f in table.shown]
        assert f"{len(table.shown)} of {len(d.findings)}" in _static_text(app, "#findings-title")
        await pilot.press("escape")
        assert tree.visible_nodes == list(NODE_ORDER)
        assert len(table.shown) == len(main.diagnosis.findings)


async def test_help_opens_and_closes(snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert app.screen is app.main_screen


async def test_quit_returns_zero(snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
    assert app.return_value == 0


async def test_q_in_the_host_input_types_a_letter(snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")))
    async with app.run_test(size=SIZE) as pilot:
        await _type(pilot, "q")
        assert app.is_running
        assert app.main_screen.query_one(HostInput).value == "q"


async def test_probe_nodes_spin_then_fill_in(snapshot_of):
    checker = snapshot_checker(snapshot_of("cloudflare"), offline=False, cls=SlowProbes)
    app = make_app(checker, host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        # the cluster phase lands while the probes still wait
        for _ in range(200):
            await pilot.pause()
            if app.main_screen.diagnosis is not None:
                break
        lines = _tree_lines(app)
        assert app.main_screen.probing
        for node in ("dns", "served-certificate", "http-redirect"):
            assert "probing…" in lines[node]
        assert "probing" not in lines["gateway"] and "ok" in lines["gateway"]
        checker.release.set()
        await settle(pilot)
        assert checker.probed == ["app.example.com"]
        assert not app.main_screen.probing
        assert not any("probing" in line for line in _tree_lines(app).values())


async def test_ctrl_r_runs_again(snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = app.main_screen.diagnosis
        gen = app.main_screen.generation
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert app.main_screen.generation == gen + 1
        assert app.main_screen.diagnosis is not first
        assert app.main_screen.diagnosis.codes == first.codes


async def test_palette_saves_a_recording(snapshot_of, tmp_path):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")
    target = tmp_path / "saved.yaml"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("colon")
        await pilot.pause()
        await _type(pilot, "save recording")
        await settle(pilot)
        await pilot.press("enter")
        await pilot.pause()
        await _type(pilot, str(target))
        await pilot.press("enter")
        await settle(pilot)
    ev, doc = load_recording(target)
    assert ev.host == "app.example.com"
    assert ev.now == "2026-12-02T03:00:00Z"
    assert "PRIVATE KEY" not in target.read_text()


async def test_palette_lists_kubeconfig_contexts_and_switches(snapshot_of, tmp_path, monkeypatch):
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "staging",
        # loopback port 9: refused at once, nothing leaves the machine
        "clusters": [{"name": "c1", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "u1", "user": {"token": "not-a-real-token"}}],
        "contexts": [
            {"name": "staging", "context": {"cluster": "c1", "user": "u1"}},
            {"name": "prod-eu", "context": {"cluster": "c1", "user": "u1"}},
        ],
    }))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    checker = snapshot_checker(snapshot_of("cloudflare"))
    app = make_app(checker, host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("colon")
        await pilot.pause()
        await _type(pilot, "switch context prod")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert checker.base.context == "prod-eu"
        assert checker.kind == "live" and not checker.base.snapshots
        # the live read fails against the closed port; the app says so and goes on
        assert "prod-eu" in _static_text(app, "#header")
        assert app.is_running


async def test_mouse_click_on_a_finding_and_a_tab(snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        main = app.main_screen
        table = main.query_one(FindingsTable)
        # the second row of the findings table (row 0 is the header line)
        await pilot.click(FindingsTable, offset=(10, 2))
        await pilot.pause()
        assert table.current.code == "cert-secret-missing"
        assert main.query_one(DetailPane).node == "secret"
        await pilot.click("#detail-tabs Tab#--content-tab-tab-yaml")
        await pilot.pause()
        assert main.query_one(DetailPane).tab == "yaml"


async def test_real_probe_phase_matches_gather(snapshot_of):
    """The probes run through collect's own pieces: the TUI's final diagnosis is the CLI's.

    Loopback only (EDGEDOCTOR_LOOPBACK_ONLY): the resolvers are a closed port on 127.0.0.1
    and the Gateway's public address is refused by the fence, so nothing leaves the machine.
    """
    from edgedoctor.collect import CheckOptions, gather
    from edgedoctor.diagnosis.engine import diagnose
    from edgedoctor.tui.session import Checker

    opts = CheckOptions(host="", snapshots=[snapshot_of("cloudflare")], now="2026-12-02T03:00:00Z",
                        nameservers=["127.0.0.1:9"], authoritative=["127.0.0.1:9"], timeout=2.0)
    checker = Checker(opts)
    assert checker.will_probe
    app = make_app(checker, host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        main = app.main_screen
        assert not main.probing
        assert main.ev.dns is not None and main.ev.tls is not None
        assert main.ev.options["offline"] is False
        assert not any("probing" in line for line in _tree_lines(app).values())
        tui = {n.node: n.status for n in main.diagnosis.tree}
    import dataclasses

    cli = diagnose(gather(dataclasses.replace(opts, host="app.example.com")))
    assert tui == {n.node: n.status for n in cli.tree}


async def test_tree_and_banner_agree_with_the_engine_on_library_recordings():
    """The report's 3 a.m. contradictions: no ✔ under a CRITICAL at that node; WARNING says why."""
    from pathlib import Path

    lib = Path(__file__).resolve().parents[2] / "recordings"
    for name, node, word in [("k8s-gateway-no-httproute.yaml", "dns", "FAIL"),
                             ("cert-refgrant-missing.yaml", "secret", "FAIL")]:
        app = make_app(replay_checker(str(lib / name)), load_recording(str(lib / name))[0].host)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            line = _tree_lines(app)[node]
            assert word in line and "✔" not in line, line
            assert f"{node} FAIL" in " ".join(plain(app.main_screen.query_one("#detail-title")).split())
    name = "cert-manager-7003-cleanup.yaml"
    app = make_app(replay_checker(str(lib / name)), load_recording(str(lib / name))[0].host)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        verdict = _static_text(app, "#verdict")
        assert "WARNING (renewal blocked, current certificate valid until" in " ".join(verdict.split())
        assert "FAIL" in _tree_lines(app)["challenge"]


async def test_c_copies_one_command_and_the_next_is_one_down_away(snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.main_screen.query_one(DetailPane)
        assert len(pane.commands) >= 2
        await pilot.press("c")
        assert app.clipboard == pane.commands[0]
        assert app.main_screen.focused is app.main_screen.query_one("#commands")
        await pilot.press("down", "c")
        assert app.clipboard == pane.commands[1]
