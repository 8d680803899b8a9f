"""An age is never negative. Objects loaded into another cluster (or a --now before the
server made them) are created after the instant judged at: the diagnosis says so and takes
the age from the controllers' status times, or leaves it unknown, and never prints
"-960791 min"."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from edgedoctor.diagnosis.engine import cluster_context, diagnose
from edgedoctor.recording import load_recording

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "recordings").glob("*.yaml"))
LATER = "2031-01-01T00:00:00Z"  # after every recording's time
NEGATIVE = re.compile(r"(?<![\w-])-\d+(\.\d+)? ?(min|h|minutes|hours|days)\b")


def _created_later(path: Path):
    ev, doc = load_recording(str(path))
    for o in ev.cluster.objects:
        o.setdefault("metadata", {})["creationTimestamp"] = LATER
    return ev, doc["expected"]


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_objects_created_after_now_have_no_negative_age(path: Path) -> None:
    ev, expected = _created_later(path)
    ctx = cluster_context(ev)
    for o in ev.cluster.objects:
        age = ctx.age_minutes(o)
        assert age is None or age >= 0, (o.get("kind"), age)
    d = diagnose(ev)
    text = json.dumps(d.to_dict())
    assert not NEGATIVE.search(text), NEGATIVE.search(text).group(0)
    from edgedoctor.remedy import build_plan

    for f in d.findings:
        for p in f.playbooks:
            try:
                plan = build_plan(p, ev, d, read_only=True)
            except Exception:  # a playbook that does not apply here
                continue
            shown = json.dumps(plan, default=lambda o: getattr(o, "__dict__", str(o)))
            assert not NEGATIVE.search(shown), (p, NEGATIVE.search(shown).group(0))


def test_the_age_comes_from_the_status_times_and_the_shift_is_said() -> None:
    """The DNS-01 wait of 50 minutes is still seen: the request's conditions date it."""
    ev, expected = _created_later(ROOT / "recordings" / "cert-dns01-txt-not-at-nameservers.yaml")
    d = diagnose(ev)
    assert (d.verdict, d.root_cause["code"]) == (expected["verdict"], expected["root_cause"])
    ctx = cluster_context(ev)
    challenge = next(o for o in ev.cluster.objects if o["kind"] == "Challenge")
    assert ctx.age_minutes(challenge) == pytest.approx(50, abs=1)
    assert any("after the instant judged at" in n and "Challenge" in n for n in ctx.notes), ctx.notes


def test_no_status_time_leaves_the_age_unknown() -> None:
    ev, _ = _created_later(ROOT / "recordings" / "healthy-single-gateway.yaml")
    ctx = cluster_context(ev)
    ns = next(o for o in ev.cluster.objects if o["kind"] == "Namespace")
    assert ctx.age_minutes(ns) is None
