"""The first frame draws the detail pane's tab line with one widget (TabsPreview); Textual's
tabs take its place right after. Nothing on screen may change when they do, and a key
pressed before they exist still works."""

from __future__ import annotations

import pytest

from edgedoctor.tui.widgets.detail import DetailPane, TabsPreview
from tests.tui.kit import make_app, plain, replay_checker, settle


def _cells(app, widget) -> list[list[tuple[str, str]]]:
    """The widget's region as drawn on screen: (character, style) per cell. A space's
    foreground cannot be seen: only its background counts."""
    strips = app.screen._compositor.render_strips()
    r = widget.region
    rows = []
    for y in range(r.y, r.bottom):
        row = []
        for seg in strips[y].crop(r.x, r.right):
            style = seg.style
            for ch in seg.text:
                seen = str(style.bgcolor) if ch == " " and style is not None else str(style)
                row.append((ch, seen))
        rows.append(row)
    return rows


def _first_build_skipped(monkeypatch) -> None:
    """The tabs are not built after the first frame (only when a key asks for them)."""
    build = DetailPane._build_tabs
    calls: list[int] = []

    def skip_first(self) -> None:
        calls.append(1)
        if len(calls) > 1:
            build(self)

    monkeypatch.setattr(DetailPane, "_build_tabs", skip_first)


async def _detail_cells(recording: str, size: tuple[int, int]) -> tuple[list, bool]:
    app = make_app(replay_checker(recording), host="app.example.com")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        pane = app.main_screen.query_one(DetailPane)
        return _cells(app, pane), bool(pane.query(TabsPreview))


@pytest.mark.parametrize("size", [(130, 40), (80, 24), (200, 50)])
async def test_the_preview_looks_like_the_tabs(recording_of, monkeypatch, size):
    recording = recording_of("cloudflare")
    settled, preview_left = await _detail_cells(recording, size)
    assert not preview_left
    with monkeypatch.context() as m:
        _first_build_skipped(m)
        first, preview_shown = await _detail_cells(recording, size)
    assert preview_shown
    # the root cause's node is selected: its evidence fills (and at 80x24 overflows) the pane
    assert any("Error: 7003" in "".join(c for c, _ in row) for row in settled)
    assert any("Evidence (d)  YAML (y)" in "".join(c for c, _ in row) for row in first)
    assert first == settled


async def test_keys_before_the_tabs_exist(recording_of, monkeypatch):
    _first_build_skipped(monkeypatch)
    app = make_app(replay_checker(recording_of("cloudflare")), host="app.example.com")
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        main = app.main_screen
        pane = main.query_one(DetailPane)
        assert pane.query(TabsPreview) and not pane.query("#detail-tabs")
        await pilot.press("y")
        await settle(pilot)
        assert pane.tab == "yaml" and not pane.query(TabsPreview)
        assert "kind: Challenge" in plain(pane.query_one("#yaml"))
        await pilot.press("c")
        await settle(pilot)
        assert pane.tab == "commands"
        assert main.focused is pane.query_one("#commands")

