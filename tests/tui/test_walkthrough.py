"""The guided walkthrough: open a finding's playbook, step through it, confirm and cancel.

These drive the screen with plans and executors of the playbook API's shapes
(docs/playbook-api.md); test_remedy_walk.py runs the real edgedoctor.remedy.
"""

from __future__ import annotations

import pytest

from edgedoctor.tui import walk
from edgedoctor.tui.screens.modals import ConfirmChange, PickPlaybook
from edgedoctor.tui.screens.walkthrough import WalkthroughScreen
from edgedoctor.tui.widgets.findings import FindingsTable
from tests.tui.kit import (
    SIZE,
    FakeExecutor,
    FakeLive,
    fake_plan,
    make_app,
    plain,
    settle,
    snapshot_checker,
    walk_step_text,
)


@pytest.fixture
def fakes(monkeypatch):
    executor = FakeExecutor()
    opened: list[tuple[str, bool]] = []

    def plan(playbook_id, ev, diagnosis, read_only):
        opened.append((playbook_id, read_only))
        return fake_plan(ev.host, read_only)

    monkeypatch.setattr(walk, "plan_walkthrough", plan)
    monkeypatch.setattr(walk, "make_executor", lambda *a, **kw: executor)
    return executor, opened


def _text(screen, selector: str) -> str:
    return plain(screen.query_one(selector))


async def _open_root_finding(pilot) -> None:
    app = pilot.app
    table = app.main_screen.query_one(FindingsTable)
    table.focus()
    table.move_cursor(row=0)
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


async def test_confirm_and_cancel_a_change_then_see_the_effect(fakes, snapshot_of):
    executor, opened = fakes
    checker = FakeLive(snapshot_of("cloudflare"), after=snapshot_of("healthy"))
    app = make_app(checker, host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.main_screen.diagnosis.root_cause["code"] == "cert-cloudflare-7003-cleanup"
        await _open_root_finding(pilot)
        # two playbooks for this finding: pick one
        assert isinstance(app.screen, PickPlaybook)
        await pilot.press("down", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WalkthroughScreen)
        assert opened == [("cleanup-stuck-orders", False)]
        assert "LIVE" in _text(screen, "#walk-readonly")
        # step 1 reads, at once
        assert executor.calls == [("read", "read-order")]
        assert "read-order: Issuing=False" in _text(screen, "#walk-result")
        assert "$ kubectl -n gateway get order" in walk_step_text(screen)
        await pilot.press("a")  # a read step has nothing to apply
        assert not isinstance(app.screen, ConfirmChange)
        await pilot.press("n")
        await settle(pilot)
        assert screen.index == 1
        assert executor.calls[-1] == ("dry-run", "delete-order")
        assert "server dry run accepted" in _text(screen, "#walk-result")
        assert screen._mark(0).plain == "✔ read" and screen._mark(1).plain == "◇ dry run passed"
        assert "dry run: [passed]" in _text(screen, "#walk-result")
        # cancel: Enter on the modal is No
        await pilot.press("a")
        assert isinstance(app.screen, ConfirmChange)
        assert app.screen.focused.id == "no"
        # the dialog names context, cluster, verb and object
        asked = " ".join(plain(app.screen.query_one("#confirm-body")).split())
        assert app.screen.title_text == "Delete Order gateway/wildcard-example-com-1-2264498345 in context prod-eu?"
        for part in ("context prod-eu", "cluster prod-eu-1", "verb delete", "object Order gateway/wildcard-example-com-1-2264498345"):
            assert part in asked, asked
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert ("apply", "delete-order") not in executor.calls
        assert "declined: nothing was changed" in _text(screen, "#walk-result")
        assert checker.rechecks == 0
        assert screen._mark(1).plain == "– declined"
        # confirm
        await pilot.press("a")
        assert isinstance(app.screen, ConfirmChange)
        await pilot.click("#yes")
        await settle(pilot)
        assert executor.calls[-1] == ("apply", "delete-order")
        assert checker.rechecks == 1
        assert screen._mark(1).plain == "✔ applied" and "change: [applied]" in _text(screen, "#walk-result")
        effect = _text(screen, "#walk-effect")
        assert "before: critical cert-cloudflare-7003-cleanup" in effect and "after: ok" in effect
        assert "works now" in effect
        # back on the diagnosis, the re-check shows
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.main_screen
        assert app.main_screen.diagnosis.verdict == "ok"
        assert "OK" in plain(app.main_screen.query_one("#verdict"))


async def test_snapshot_walkthrough_changes_nothing(fakes, snapshot_of):
    executor, opened = fakes
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        main = app.main_screen
        main.query_one(FindingsTable).focus()
        await pilot.press("p")
        await pilot.press("enter")  # the first of the two playbooks
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WalkthroughScreen)
        assert opened[-1][1] is True  # planned read-only
        assert "READ-ONLY (snapshot)" in _text(screen, "#walk-readonly")
        await pilot.press("n")
        await settle(pilot)
        step = walk_step_text(screen)
        assert "would change:" in step and "read-only: this is a snapshot" in step
        assert "root cause stays critical cert-cloudflare-7003-cleanup" in _text(screen, "#walk-effect")
        await pilot.press("a")
        await pilot.pause()
        assert app.screen is screen  # no confirmation: nothing can be changed
        assert [c for c in executor.calls if c[0] != "read"] == []
        assert screen.query_one("#apply").disabled
        assert screen._mark(1).plain == "○ would change (read-only)"
        # the whole reason of a refusal stays on the step, not only in a toast
        assert "not applied: read-only (snapshot): nothing is changed here" in _text(screen, "#walk-result")


async def test_finding_without_playbook_opens_its_guide(fakes, snapshot_of):
    executor, opened = fakes
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.main_screen.query_one(FindingsTable)
        table.focus()
        codes = [f.code for f in table.shown]
        table.move_cursor(row=codes.index("cert-secret-missing"))
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WalkthroughScreen)
        assert opened == [] and executor.calls == []  # no playbook, no cluster executor
        assert screen.plan.playbook_id == "guide:cert-secret-missing"
        assert "GUIDE" in _text(screen, "#walk-readonly")
        kinds = [s.kind for s in screen.plan.steps]
        assert kinds[0] == "read" and "change" in kinds and screen.plan.steps[-1].check == "rediagnose"
        # the first step runs at once: edgedoctor's own evidence
        assert "edgedoctor's evidence as of" in _text(screen, "#walk-result")
        await pilot.press("n")
        await settle(pilot)
        step = walk_step_text(screen)
        assert "What the answer means:" in step and "$ " in step
        fix = next(i for i, s in enumerate(screen.plan.steps) if s.kind == "change")
        while screen.index < fix:
            await pilot.press("n")
            await settle(pilot)
        assert screen._mark(fix).plain.startswith("✎ yours to make")
        assert "a change you make (manual or GitOps)" in walk_step_text(screen)
        await pilot.press("a")
        await pilot.pause()
        assert app.screen is screen


async def test_playbook_that_does_not_apply_is_a_notification(monkeypatch, snapshot_of):
    def refuse(playbook_id, ev, diagnosis, read_only):
        raise ValueError(f"playbook {playbook_id} fixes cert-expired; the diagnosis shows critical")

    monkeypatch.setattr(walk, "plan_walkthrough", refuse)
    app = make_app(snapshot_checker(snapshot_of("cloudflare")), host="app.example.com")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.main_screen.open_playbook("force-renew", "cert-cloudflare-7003-cleanup")
        await pilot.pause()
        assert app.screen is app.main_screen
        assert any("fixes cert-expired" in n.message for n in app._notifications)


def test_every_step_state_has_its_own_label():
    from types import SimpleNamespace as NS

    from edgedoctor.tui.stepstate import LABELS, step_label

    ok = NS(ok=True, message="", outcome="ok")
    change = NS(kind="change", satisfied=None, blocked=None, check=None, change={"op": "delete"})
    read = NS(kind="read", satisfied=None, blocked=None, check="certificate-ready")
    verify = NS(kind="read", satisfied=None, blocked=None, check="rediagnose")
    cases = {
        "dry run passed": (change, {"result": ok}, False),
        "applied": (change, {"result": ok, "applied": ok}, False),
        "verified": (change, {"result": ok, "applied": ok, "verified": ok}, False),
        "not verified": (change, {"applied": ok, "verified": NS(ok=False, message="", outcome="failed")}, False),
        "apply failed": (change, {"applied": NS(ok=False, message="", outcome="failed")}, False),
        "dry run failed": (change, {"result": NS(ok=False, message="", outcome="failed")}, False),
        "refused": (change, {"result": NS(ok=False, message="", outcome="denied")}, False),
        "in place": (NS(kind="change", satisfied="already", blocked=None, check=None, change={"op": "patch"}), {}, False),
        "manual": (NS(kind="change", satisfied=None, blocked="manual", check=None, change=None), {}, True),
        "in place (server)": (change, {"result": NS(ok=True, message="", outcome="unchanged")}, False),
        "blocked": (NS(kind="change", satisfied=None, blocked="no RBAC", check=None, change={"op": "patch"}), {}, False),
        "would change": (NS(kind="change", satisfied=None, blocked="read-only", check=None, change={"op": "patch"}), {}, True),
        "read": (read, {"result": ok}, False),
        "host ok": (verify, {"result": ok}, False),
        "not fixed": (verify, {"result": NS(ok=False, message="", outcome="ok")}, False),
    }
    labels = {name: step_label(step, st, ro)[0] for name, (step, st, ro) in cases.items()}
    assert labels["not fixed"] == "✘ not fixed yet", "a failed verification never reads ok"
    assert "ok" not in labels["not fixed"]
    distinct = {k: v for k, v in labels.items() if k != "in place (server)"}
    assert len(set(distinct.values())) == len(distinct), labels
    assert labels["in place (server)"] == labels["in place"]
    marks = {v.split()[0] for k, v in distinct.items()}
    assert {"✔", "◇", "✔✔", "⊘", "=", "○"} <= marks
    assert len(LABELS) >= 15
