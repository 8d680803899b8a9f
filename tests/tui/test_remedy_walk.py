"""The walkthrough with the real edgedoctor.remedy: read-only on a snapshot, and live
against the fake kube-apiserver (tests/fakeapi.py on 127.0.0.1), where a confirmed
step really changes the object and the re-check reads the cluster again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgedoctor.collect import CheckOptions
from edgedoctor.tui.screens.modals import ConfirmChange
from edgedoctor.tui.screens.walkthrough import WalkthroughScreen
from edgedoctor.tui.session import Checker
from edgedoctor.tui.widgets.findings import FindingsTable
from tests import casekit
from tests.fakeapi import FakeAPI
from tests.tui.kit import NOW, SIZE, make_app, plain, settle, snapshot_checker, walk_step_text

PLAYBOOK = "cleanup-stuck-orders"
ORDER = "wildcard-example-com-1-2264498345"


def _text(screen, selector: str) -> str:
    return plain(screen.query_one(selector))


def _step_index(screen: WalkthroughScreen, step_id: str) -> int:
    return [s.id for s in screen.plan.steps].index(step_id)


async def _go_to(pilot, screen: WalkthroughScreen, step_id: str) -> None:
    target = _step_index(screen, step_id)
    while screen.index < target:
        await pilot.press("n")
        await settle(pilot)
    assert screen.plan.steps[screen.index].id == step_id


async def test_snapshot_plan_shows_and_changes_nothing(snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.main_screen.open_playbook(PLAYBOOK, "cert-cloudflare-7003-cleanup")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WalkthroughScreen)
        assert screen.plan.read_only
        assert "READ-ONLY (snapshot)" in _text(screen, "#walk-readonly")
        # the first read runs on the evidence
        first = screen.plan.steps[0]
        assert first.kind == "read"
        assert screen.state[0]["result"].ok
        assert "v1.17.0" in _text(screen, "#walk-result")
        await _go_to(pilot, screen, "delete-order")
        step = walk_step_text(screen)
        assert "would change:" in step and ORDER in step
        await pilot.press("a")
        await pilot.pause()
        assert app.screen is screen
        assert screen.query_one("#apply").disabled
        assert "root cause stays critical cert-cloudflare-7003-cleanup" in _text(screen, "#walk-effect")


@pytest.fixture
def live_cluster(tmp_path, monkeypatch):
    for var in ("KUBECONFIG", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # the audit log is written to the working directory
    case = next(c for c in casekit.load_cases() if c["name"] == "cert-cloudflare-7003-cleanup")
    objs = casekit.apply_edits(casekit.base_objects(), casekit.expand(case["broken"]))
    with FakeAPI(objs) as api:
        yield api, api.kubeconfig(tmp_path / "config")


async def test_live_walkthrough_cancel_then_confirm(live_cluster, tmp_path: Path):
    api, kubeconfig = live_cluster
    checker = Checker(CheckOptions(host="", kubeconfig=str(kubeconfig), offline=True, now=NOW))
    app = make_app(checker, host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        d = app.main_screen.diagnosis
        assert d.root_cause["code"] == "cert-cloudflare-7003-cleanup"
        assert "fake" in plain(app.main_screen.query_one("#header"))
        app.main_screen.open_playbook(PLAYBOOK, "cert-cloudflare-7003-cleanup")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WalkthroughScreen)
        assert not screen.plan.read_only
        assert "LIVE" in _text(screen, "#walk-readonly")
        await _go_to(pilot, screen, "delete-order")
        # the dry run went to the server, and changed nothing
        result = screen.state[screen.index]["result"]
        assert result.ok, result.message
        assert "dry run passed (sent to the API server with dryRun=All; nothing was changed)" in _text(
            screen, "#walk-result")
        deletes = [w for w in api.writes if w["method"] == "DELETE"]
        # the fake reads a DELETE's options from its body, as kube-apiserver does
        assert deletes and all(w["dry_run"] and w["body"]["dryRun"] == ["All"] for w in deletes)
        assert api.get("Order", "gateway", ORDER) is not None
        # cancel: the default answer
        await pilot.press("a")
        assert isinstance(app.screen, ConfirmChange)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert api.get("Order", "gateway", ORDER) is not None
        assert not [w for w in api.writes if w["method"] == "DELETE" and not w["dry_run"]]
        # confirm
        await pilot.press("a")
        assert isinstance(app.screen, ConfirmChange)
        await pilot.press("y")
        await settle(pilot)
        assert api.get("Order", "gateway", ORDER) is None
        real = [w for w in api.writes if w["method"] == "DELETE" and not w["dry_run"]]
        assert len(real) == 1 and ORDER in real[0]["path"]
        assert screen.state[screen.index]["applied"].ok
        effect = _text(screen, "#walk-effect")
        assert "root cause before: critical cert-cloudflare-7003-cleanup" in effect
        assert "after:" in effect
        # the main screen now shows the re-checked cluster: the Order is gone from it
        assert all(o.get("metadata", {}).get("name") != ORDER
                   for o in app.main_screen.ev.cluster.objects if o.get("kind") == "Order")
    audit = [json.loads(line) for line in (tmp_path / "edgedoctor-audit.log").read_text().splitlines()]
    assert any(e.get("applied") and e.get("step") == "delete-order" for e in audit)
    assert any(e.get("result") == "declined" for e in audit)


async def test_a_read_step_copies_one_reading_command_at_a_time():
    """The Cloudflare-bug walkthrough's TXT listing: reads only, one command per `c`, ↓ for the next."""
    lib = Path(__file__).resolve().parents[2] / "recordings" / "cert-manager-7003-cleanup.yaml"
    from edgedoctor.shellcmd import changes_something
    from tests.tui.kit import replay_checker

    app = make_app(replay_checker(str(lib)), host="portal.contoso.example")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.main_screen.open_playbook("cert-manager-cloudflare-cleanup-bug", "cert-cloudflare-7003-cleanup")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WalkthroughScreen)
        await _go_to(pilot, screen, "leaked-txt")
        cmds, withheld = screen.step_commands(screen.step)
        assert len(cmds) >= 2 and not withheld
        assert all(not changes_something(c) for c in cmds)
        step = walk_step_text(screen)
        assert "reads (changes nothing)" in step and "DELETE" not in step.replace("a DELETE of", "")
        await pilot.press("c")
        assert app.clipboard == cmds[0] and "\n" not in app.clipboard
        await pilot.press("right_square_bracket", "c")
        assert app.clipboard == cmds[1]
        await pilot.press("left_square_bracket", "c")
        assert app.clipboard == cmds[0]
        # the deletion is the next step: a change, made by hand, with its one command
        await _go_to(pilot, screen, "delete-leaked-txt")
        cmds, _ = screen.step_commands(screen.step)
        assert len(cmds) == 1 and cmds[0].startswith("curl -s -X DELETE") and changes_something(cmds[0])
        assert "a change you make (manual or GitOps)" in walk_step_text(screen)
        assert screen._mark(screen.index).plain.startswith("✎ yours to make")
        screen.query_one("#walk-steps").highlighted = [s.id for s in screen.plan.steps].index("leaked-txt")
        await settle(pilot)
        # a read step whose template mixes in a change withholds it
        screen.step.command = 'dig +short TXT a.example\ncurl -s -X DELETE "https://api.example/zones/z/dns_records/r"'
        screen._render_step()
        await pilot.pause()
        assert screen.step_commands(screen.step) == (["dig +short TXT a.example"], [screen.step.command.splitlines()[1]])
        assert "would change something: a read step does not offer them" in " ".join(walk_step_text(screen).split())


async def test_a_playbook_in_place_is_not_offered_and_an_in_place_step_shows_no_command():
    lib = Path(__file__).resolve().parents[2] / "recordings" / "cert-manager-7003-first-issuance.yaml"
    from edgedoctor.recording import load_recording
    from tests.tui.kit import replay_checker

    host = load_recording(str(lib))[0].host
    app = make_app(replay_checker(str(lib)), host=host)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        main = app.main_screen
        # The findings table counts what applies here, not the catalog's list: dns-no-record
        # names a playbook that does not fit (its row says guide), the cleanup bug's fits.
        table = main.query_one(FindingsTable)
        cells = {f.code: str(table.get_row(f.code)[3]) for f in table.shown}
        assert table.offered is not None
        by_code = {f.code: f for f in table.shown}
        assert by_code["dns-no-record"].playbooks and cells["dns-no-record"] == "guide"
        offered = [p for p, ok, _ in main._offers(by_code["cert-cloudflare-7003-cleanup"]) if ok]
        assert offered and cells["cert-cloudflare-7003-cleanup"] == f"▶ {len(offered)}"
        f = next(x for x in main.diagnosis.findings if x.code == "dns-no-record")
        main.open_finding(f)
        await settle(pilot)
        # external-dns already watches HTTPRoutes: not the playbook, the code's guide, which says why
        assert isinstance(app.screen, WalkthroughScreen) and app.screen.plan.playbook_id == "guide:dns-no-record"
        assert any("external-dns-watch-httproute does not apply here: already" in n for n in app.screen.plan.notes)
        app.pop_screen()
        await settle(pilot)
        assert "external-dns-watch-httproute" not in [p for p, _ in main.playbook_choices()]
        # Opened by name anyway (the palette lists every playbook): the step in place runs nothing.
        main.open_playbook("external-dns-watch-httproute", "dns-no-record")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WalkthroughScreen)
        await _go_to(pilot, screen, "add-source")
        assert screen.step.satisfied
        assert screen.step_commands(screen.step) == ([], [])
        text = walk_step_text(screen)
        assert "$ " not in text and "patch" not in text and "sources:" not in text
        assert "in place" in text.splitlines()[0] and "nothing to change: external-dns" in text
