"""SVG snapshots of the main screens on a few scenarios (pytest-textual-snapshot).

Deterministic: fixed terminal size, --now fixed by the scenarios, no blinking
cursor, no spinner (offline snapshots and replays), files named the same in every
tmp dir and shown by base name only. Accept a changed look with
`pytest tests/tui/test_snapshots.py --snapshot-update` after looking at the report.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from edgedoctor import catalog
from edgedoctor.tui import walk
from tests.tui.kit import (
    SIZE,
    FakeExecutor,
    FakeLive,
    fake_plan,
    make_app,
    replay_checker,
    settle,
    snapshot_checker,
)

TEXT_KEYS = ("title", "summary", "why", "signals", "confirm", "remedy", "references")
FROZEN = {e["code"]: e for e in yaml.safe_load_all((Path(__file__).parent / "catalog_text.yaml").read_text())}


@pytest.fixture(autouse=True)
def frozen_catalog(monkeypatch):
    """The catalog as the snapshots were taken: a reworded sentence in checks/ is no change
    of the screens."""

    real = catalog.entry

    def entry(code: str) -> dict:
        assert code in FROZEN, f"{code} is shown: copy checks/{code}.yaml into tests/tui/catalog_text.yaml"
        # The words from the fixture; the facts the rules use (severity, node, declared
        # alternatives, category, playbooks) from the catalog itself.
        return {**real(code), **{k: FROZEN[code][k] for k in TEXT_KEYS}}

    monkeypatch.setattr(catalog, "entry", entry)


def _press(*keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        if keys:
            await pilot.press(*keys)
            await settle(pilot)

    return run_before


def test_main_cert_issuance(snap_compare, snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")
    assert snap_compare(app, terminal_size=SIZE, run_before=_press())


def test_main_app_routing_yaml(snap_compare, recording_of):
    app = make_app(replay_checker(recording_of("route-missing")), host="api.example.com")
    assert snap_compare(app, terminal_size=SIZE, run_before=_press("y"))


def test_main_dns_sync_explain(snap_compare, snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("external-dns-down")), host="app.example.com")
    assert snap_compare(app, terminal_size=SIZE, run_before=_press("x"))


def test_main_healthy(snap_compare, snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("healthy")), host="app.example.com")
    assert snap_compare(app, terminal_size=SIZE, run_before=_press())


def test_main_filtered(snap_compare, snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")
    assert snap_compare(app, terminal_size=SIZE, run_before=_press("slash", *"order"))


def test_replay_of_another_host(snap_compare, recording_of):
    app = make_app(replay_checker(recording_of("cloudflare")))
    assert snap_compare(app, terminal_size=SIZE, run_before=_press(*"www.example.com", "enter"))


def test_help(snap_compare, snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")
    assert snap_compare(app, terminal_size=SIZE, run_before=_press("question_mark"))


def test_walkthrough_read_only(snap_compare, snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")

    async def run_before(pilot) -> None:
        await settle(pilot)
        app.main_screen.open_playbook("cleanup-stuck-orders", "cert-cloudflare-7003-cleanup")
        await settle(pilot)
        await pilot.press("n", "n")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_confirm_change(snap_compare, snapshot_of, monkeypatch):
    monkeypatch.setattr(walk, "plan_walkthrough", lambda pid, ev, d, read_only: fake_plan(ev.host, read_only))
    monkeypatch.setattr(walk, "make_executor", lambda *a, **kw: FakeExecutor())
    app = make_app(FakeLive(snapshot_of("cloudflare"), snapshot_of("healthy")), host="app.example.com")

    async def run_before(pilot) -> None:
        await settle(pilot)
        app.main_screen.open_playbook("cleanup-stuck-orders", "cert-cloudflare-7003-cleanup")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


SMALL = (80, 24)


def test_main_80x24(snap_compare, snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")
    assert snap_compare(app, terminal_size=SMALL, run_before=_press())


def test_walkthrough_80x24(snap_compare, snapshot_of):
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")

    async def run_before(pilot) -> None:
        await settle(pilot)
        app.main_screen.open_playbook("cleanup-stuck-orders", "cert-cloudflare-7003-cleanup")
        await settle(pilot)
        await pilot.press("n", "n")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)
