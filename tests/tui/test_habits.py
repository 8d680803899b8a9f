"""Keys as an on-call engineer's fingers expect them (k9s, vim, less)."""

from __future__ import annotations

from edgedoctor.tui.screens.help import HelpScreen
from edgedoctor.tui.screens.modals import PickPlaybook
from edgedoctor.tui.screens.walkthrough import WalkthroughScreen
from edgedoctor.tui.widgets.detail import DetailPane
from edgedoctor.tui.widgets.findings import FindingsTable
from edgedoctor.tui.widgets.keys import fit_keys
from edgedoctor.tui.widgets.tree import DiagnosisTree
from tests.tui.kit import SIZE, make_app, plain, settle, snapshot_checker


def _node(app) -> str | None:
    c = app.main_screen.query_one(DiagnosisTree).cursor_node
    return c.data if c is not None else None


async def test_j_k_move_in_the_tree_and_the_findings(snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        start = _node(app)
        await pilot.press("j")
        await pilot.pause()
        after = _node(app)
        assert after != start
        await pilot.press("k")
        await pilot.pause()
        assert _node(app) == start
        table = app.main_screen.query_one(FindingsTable)
        table.focus()
        table.move_cursor(row=0)
        await pilot.pause()
        await pilot.press("j")
        await pilot.pause()
        assert table.cursor_row == 1
        await pilot.press("k")
        await pilot.pause()
        assert table.cursor_row == 0


async def test_enter_on_a_node_opens_its_detail_or_its_walkthrough(snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        main = app.main_screen
        tree = main.query_one(DiagnosisTree)
        pane = main.query_one(DetailPane)
        # a passing node: its evidence
        pane.set_tab("yaml")
        tree.move_to("route")
        await pilot.pause()
        assert main.diagnosis.node("route").status == "pass"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is main and pane.tab == "evidence"
        # the failing root-cause node: its finding's playbooks (two here: the picker, by title)
        root = main.diagnosis.findings[0]
        tree.move_to(root.node)
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PickPlaybook)
        shown = [str(app.screen.query_one("#pick").get_option_at_index(i).prompt) for i in range(2)]
        assert "cert-manager Cloudflare cleanup bug" in shown[0] and "cert-manager-cloudflare-cleanup-bug" in shown[0]
        assert "stuck" in shown[1].lower()
        keys = plain(app.screen.query_one(".keys"))
        assert "enter open" in keys and "esc cancel" in keys
        await pilot.press("j", "enter")
        await settle(pilot)
        assert isinstance(app.screen, WalkthroughScreen) and app.screen.plan.playbook_id == "cleanup-stuck-orders"
        assert "n/b next/prev step" in plain(app.screen.query_one("#walk-keys"))


async def test_the_keys_line_is_the_screen_in_front(snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "/ filter" in plain(app.main_screen.query_one("#keys"))
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = plain(app.screen.query_one(".keys"))
        assert "back" in keys and "filter" not in keys
        # the help lists the keys as they are
        from edgedoctor.tui.screens.help import SECTIONS

        listed = {k for _, rows in SECTIONS for k, _ in rows}
        assert {"[ / ]", "q / ctrl+c", "↑ ↓ / j k / mouse"} <= listed


async def test_ctrl_c_quits_from_any_screen(snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("h")  # even from the host input, where ctrl+c would copy
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_code == 0 and not app.is_running


def test_the_keys_line_keeps_the_important_keys_when_narrow():
    keys = (("?", "help"), ("q", "quit"), ("enter", "open/walk"), ("c", "copy cmd"), ("/", "filter"),
            ("ctrl+r", "re-run"), ("esc", "back"))
    wide = fit_keys(keys, 200).plain
    assert wide.startswith("? help  q quit") and "esc back" in wide
    narrow = fit_keys(keys, 40).plain
    assert len(narrow) <= 40 and narrow.startswith("? help  q quit  enter open/walk")
    assert "esc back" not in narrow


def test_the_readme_lists_every_key_of_the_screens():
    from pathlib import Path

    from edgedoctor.tui.app import EdgeDoctorApp
    from edgedoctor.tui.screens.main import MainScreen
    from edgedoctor.tui.screens.walkthrough import WalkthroughScreen

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## The TUI"):readme.index("## Recordings")]
    names = {"slash": "/", "escape": "esc", "question_mark": "?", "colon": ":", "right_square_bracket": "]",
             "left_square_bracket": "[", "enter": "Enter"}
    for cls in (EdgeDoctorApp, MainScreen, WalkthroughScreen, DiagnosisTree, FindingsTable):
        for b in cls.BINDINGS:
            for key in b.key.split(","):
                shown = names.get(key, key)
                assert f"`{shown}`" in section, f"{cls.__name__}: {key} is not in the README's TUI section"
