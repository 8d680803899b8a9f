"""Layout by size: 80x24 (as htop and k9s) and 120x40, on a library recording."""

from __future__ import annotations

from pathlib import Path

from edgedoctor.recording import load_recording
from edgedoctor.tui.screens.walkthrough import WalkthroughScreen
from edgedoctor.tui.widgets.findings import FindingsTable
from edgedoctor.tui.widgets.tree import DiagnosisTree
from tests.tui.kit import make_app, plain, replay_checker, settle

LIB = Path(__file__).resolve().parents[2] / "recordings"


def _app(name: str):
    path = str(LIB / name)
    return make_app(replay_checker(path), load_recording(path)[0].host)


def _cursor_visible(tree: DiagnosisTree) -> bool:
    line = tree.cursor_line
    return tree.scroll_offset.y <= line < tree.scroll_offset.y + tree.scrollable_content_region.height


async def test_80x24_stacks_the_panes_and_shows_every_finding():
    app = _app("cert-manager-7003-cleanup.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        main = app.main_screen
        tree, detail = main.query_one("#tree"), main.query_one("#detail")
        assert tree.region.x == detail.region.x and detail.region.y > tree.region.y, "stacked"
        assert tree.region.height >= 6 and detail.region.height >= 6
        banner = main.query_one("#verdict")
        assert banner.region.height == 1
        line = banner.content
        assert line.plain.startswith("WARNING (renewal blocked") and "\n" not in line.plain and line.no_wrap
        table = main.query_one(FindingsTable)
        assert len(main.diagnosis.findings) == 2
        assert table.region.height >= len(main.diagnosis.findings) + 1, "every finding visible"
        keys = plain(main.query_one("#keys")).strip()
        assert len(keys) <= 80 and keys.startswith("? help  q quit  enter open/walk")
        assert main.query_one("#header").region.height == 1
        assert _cursor_visible(tree)
        assert tree.region.bottom <= detail.region.y <= table.region.y <= main.query_one("#keys").region.y


async def test_120x40_lays_panes_side_by_side_with_the_full_banner():
    app = _app("cert-manager-7003-cleanup.yaml")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        main = app.main_screen
        tree, detail = main.query_one("#tree"), main.query_one("#detail")
        assert tree.region.y == detail.region.y and detail.region.x > tree.region.x, "side by side"
        assert tree.region.height >= 16, "the whole tree"
        assert main.query_one("#verdict").region.height >= 3
        assert "category:" in plain(main.query_one("#verdict"))
        assert "ctrl+r re-run" in plain(main.query_one("#keys"))


async def test_the_selection_stays_visible_after_a_resize():
    app = _app("cert-manager-7003-cleanup.yaml")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        tree = app.main_screen.query_one(DiagnosisTree)
        tree.move_to("http-redirect")
        await pilot.pause()
        assert tree.cursor_node.data == "http-redirect"
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert tree.cursor_node.data == "http-redirect"
        assert _cursor_visible(tree), (tree.cursor_line, tree.scroll_offset, tree.scrollable_content_region)
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        assert _cursor_visible(tree)


async def test_80x24_walkthrough_keeps_the_step_and_its_command_in_view():
    app = _app("cert-manager-7003-cleanup.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.main_screen.open_playbook("cert-manager-cloudflare-cleanup-bug", "cert-cloudflare-7003-cleanup")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WalkthroughScreen)
        steps, pane = screen.query_one("#walk-steps"), screen.query_one("#walk-step-scroll")
        assert pane.region.height >= 9 and steps.region.height >= 5
        assert pane.region.y > steps.region.y, "stacked"
        cmds = screen.query_one("#walk-cmds")
        assert cmds.region.bottom <= pane.region.bottom, "the command is on screen"
        keys = plain(screen.query_one("#walk-keys")).strip()
        assert len(keys) <= 80 and keys.startswith("n/b next/prev step  a apply")


async def test_the_step_pane_starts_at_the_top_of_each_step():
    app = _app("cert-manager-7003-cleanup.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.main_screen.open_playbook("cert-manager-cloudflare-cleanup-bug", "cert-cloudflare-7003-cleanup")
        await settle(pilot)
        screen = app.screen
        pane = screen.query_one("#walk-step-scroll")
        await pilot.press("n")
        await settle(pilot)
        pane.scroll_end(animate=False)
        await pilot.pause()
        assert pane.scroll_y > 0
        await pilot.press("n")
        await settle(pilot)
        assert pane.scroll_y == 0
        assert "Step 3 of" in plain(screen.query_one("#walk-step"))
