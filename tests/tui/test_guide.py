"""A walkthrough for every catalog code (edgedoctor.tui.guide), over the library's recordings."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgedoctor import catalog
from edgedoctor.collect import CheckOptions, gather
from edgedoctor.diagnosis.engine import cluster_context, diagnose, placeholder_values
from edgedoctor.recording import load_recording, read_recording_doc
from edgedoctor.shellcmd import changes_something
from edgedoctor.tui.guide import (
    GuideExecutor,
    answer_meaning,
    build_guide,
    reflow,
    remedy_items,
    seconds_left,
)
from edgedoctor.tui.screens.walkthrough import WalkthroughScreen
from tests.tui.kit import make_app, plain, replay_checker, settle

LIB = Path(__file__).resolve().parents[2] / "recordings"


def _by_root_cause() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for f in sorted(LIB.glob("*.yaml")):
        code = read_recording_doc(f)["expected"]["root_cause"]
        if code and code not in out:
            out[code] = f
    return out


def test_every_catalog_code_gets_a_guide():
    recs = _by_root_cause()
    assert set(catalog.all_codes()) <= set(recs), "test_recordings guarantees a recording per code"
    for code in catalog.all_codes():
        path = recs[code]
        ev = gather(CheckOptions(host=read_recording_doc(path)["evidence"]["host"], replay=str(path)))
        d = diagnose(ev)
        f = next(x for x in d.findings if x.code == code)
        plan = build_guide(f, ev, d, placeholder_values(cluster_context(ev), f.category))
        reads = [s for s in plan.steps if s.kind == "read" and s.command and s.check == "evidence"]
        fixes = [s for s in plan.steps if s.kind == "change"]
        assert reads, f"{code}: no read confirms it"
        for s in reads:
            assert not changes_something(s.command), (code, s.command)
            assert "What the answer means:" in s.explain and f.message in s.explain
        assert fixes and all(s.blocked and s.change is None for s in fixes), code
        assert all("{" not in s.explain or "{{" in s.explain for s in fixes), (code, [s.explain for s in fixes])
        last = plan.steps[-1]
        assert last.check == "rediagnose" and last.command == f"edgedoctor check {ev.host}"
        if code == "dns-propagation":
            assert last.deadline and "negative TTL" in last.explain


def test_the_recheck_says_whether_the_code_is_gone():
    path = LIB / "dns-propagation-lag.yaml"
    ev = gather(CheckOptions(host=read_recording_doc(path)["evidence"]["host"], replay=str(path)))
    d = diagnose(ev)
    f = next(x for x in d.findings if x.code == "dns-propagation")
    plan = build_guide(f, ev, d, {})
    ex = GuideExecutor(f, ev, lambda: d)
    r = ex.run_read(plan.steps[-1])
    assert not r.ok and "dns-propagation is still there" in r.message
    healthy = LIB / "healthy-single-gateway.yaml"
    ev2 = gather(CheckOptions(host=read_recording_doc(healthy)["evidence"]["host"], replay=str(healthy)))
    assert ex.__class__(f, ev, lambda: diagnose(ev2)).run_read(plan.steps[-1]).ok
    from datetime import datetime, timedelta, timezone

    now = datetime.strptime(ev.now, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    end = now + timedelta(seconds=f.evidence["wait_seconds_left"])
    assert plan.steps[-1].deadline == end.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert seconds_left(plan.steps[-1].deadline, now) == f.evidence["wait_seconds_left"]
    assert not ex.apply(plan.steps[1]).ok


def test_texts_are_reflowed_for_the_widget_and_items_split():
    text = "Fix the side the reason names, in Git:\n- NoMatchingParent: correct parentRefs\n  name or port.\n- Other.\n\nVerify: ok."
    assert reflow(text) == "Fix the side the reason names, in Git:\n- NoMatchingParent: correct parentRefs name or port.\n- Other.\n\nVerify: ok."
    lead, items = remedy_items(text)
    assert lead == "Fix the side the reason names, in Git:"
    assert items == ["NoMatchingParent: correct parentRefs name or port.", "Other. Verify: ok."]
    assert "authoritative" in answer_meaning("dig @198.51.100.53 a.example A +norecurse")
    assert "cache" in answer_meaning("dig @1.1.1.1 a.example A")
    assert "negative" not in answer_meaning("kubectl -n x get httproute y -o jsonpath='{.status.parents}'")
    assert "status" in answer_meaning("kubectl -n x get httproute y -o jsonpath='{.status.parents}'")


@pytest.mark.parametrize("name, code", [("dns-propagation-lag.yaml", "dns-propagation"),
                                        ("route-not-accepted-sectionname.yaml", "route-not-accepted")])
async def test_enter_on_a_code_without_a_playbook_walks_its_guide(name, code):
    path = str(LIB / name)
    app = make_app(replay_checker(path), load_recording(path)[0].host)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        main = app.main_screen
        assert main.diagnosis.findings[0].code == code
        main.open_finding(main.diagnosis.findings[0])
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WalkthroughScreen) and screen.plan.playbook_id == f"guide:{code}"
        while screen.index < len(screen.plan.steps) - 1:
            await pilot.press("n")
            await settle(pilot)
        result = plain(screen.query_one("#walk-result"))
        assert f"{code} is still there" in result  # a replay changes nothing
        assert screen._mark(screen.index).plain == "✘ not fixed yet"
        if code == "dns-propagation":
            countdown = plain(screen.query_one("#walk-countdown"))
            assert "the wait ended at" in countdown or "left" in countdown


async def test_the_explain_tab_is_wrapped_by_the_widget_not_by_the_catalog():
    path = str(LIB / "route-not-accepted-sectionname.yaml")
    app = make_app(replay_checker(path), load_recording(path)[0].host)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        text = app.main_screen.query_one("#explain").content.plain
        why = catalog.entry("route-not-accepted")["why"]
        first, second = why.splitlines()[0].strip(), why.splitlines()[1].strip()
        assert f"{first} {second}" in text, "the catalog's hard line break is gone"
