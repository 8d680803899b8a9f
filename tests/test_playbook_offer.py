"""A playbook is offered only when its preconditions hold on the evidence; a step already in
place has nothing to run; generated Git/Helm snippets are idempotent. Over the whole library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from edgedoctor.collect import CheckOptions, gather
from edgedoctor.diagnosis.engine import diagnose
from edgedoctor.recording import read_recording_doc
from edgedoctor.remedy import build_plan
from edgedoctor.remedy.offer import offer

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "recordings"


def _replay(name: str):
    doc = read_recording_doc(LIB / name)
    ev = gather(CheckOptions(host=doc["evidence"]["host"], replay=str(LIB / name)))
    return ev, diagnose(ev)


def _dupes(node: Any) -> list[Any]:
    out: list[Any] = []
    if isinstance(node, dict):
        for v in node.values():
            out += _dupes(v)
    elif isinstance(node, list):
        scalars = [x for x in node if not isinstance(x, (dict, list))]
        out += [x for i, x in enumerate(scalars) if x in scalars[:i]]
        for v in node:
            out += _dupes(v)
    return out


def test_a_playbook_whose_change_is_in_place_is_not_offered():
    ev, d = _replay("cert-manager-7003-first-issuance.yaml")
    o = offer("external-dns-watch-httproute", ev, d)
    assert not o.offered and "already" in o.reason and "gateway-httproute" in o.reason
    ev, d = _replay("external-dns-ingress-only.yaml")
    assert offer("external-dns-watch-httproute", ev, d).offered


def test_a_playbook_that_does_not_fit_is_not_offered():
    ev, d = _replay("gatewayclass-no-controller.yaml")
    o = offer("external-dns-watch-httproute", ev, d)
    assert not o.offered and "no route serves" in o.reason


def test_generated_snippets_are_idempotent_and_in_place_steps_say_so():
    plans = 0
    for f in sorted(LIB.glob("*.yaml")):
        ev, d = _replay(f.name)
        for finding in d.findings:
            for p in finding.playbooks:
                try:
                    plan = build_plan(p, ev, d, read_only=True)
                except Exception:
                    continue
                plans += 1
                for s in plan.steps:
                    snippet = getattr(s, "git_snippet", None)
                    if snippet:
                        for doc in yaml.safe_load_all(snippet):
                            assert not _dupes(doc), (f.name, p, s.id, _dupes(doc))
    assert plans >= 20


def test_https_redirect_pins_the_route_that_takes_the_wrong_listener():
    """http:// served by the app route (no sectionName): pin it to https. A loop on https
    (the redirect route on both listeners): pin the redirect route to http."""
    for name, section in [("http-not-redirecting.yaml", "https"), ("redirect-loop-on-https.yaml", "http")]:
        ev, d = _replay(name)
        assert offer("add-https-redirect", ev, d).offered, name
        plan = build_plan("add-https-redirect", ev, d, read_only=True)
        pins = [s for s in plan.steps if s.id.startswith("pin-route") and not s.satisfied]
        assert len(pins) == 1, name
        assert pins[0].change["fields"] == [f"spec.parentRefs[0].sectionName = {section}"], name


def _check_text(name: str) -> str:
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "edgedoctor", "check", "--replay", str(LIB / name), "-o", "text"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode in (0, 1, 2, 3), p.stderr
    return p.stdout


def test_check_text_suggests_only_playbooks_that_fit():
    # external-dns already watches HTTPRoutes here: the catalog's playbook for dns-no-record
    # is not suggested by `check` either, not only by the TUI.
    out = _check_text("cert-manager-7003-first-issuance.yaml")
    assert "external-dns-watch-httproute" not in out
    assert "fix: edgedoctor fix cert-manager-cloudflare-cleanup-bug" in out.splitlines()[0]
    # No Certificate writes the served Secret: force-renew is named with the reason it is left out,
    # and the pager line gives the catalog's remedy instead of a fix that would refuse.
    out = _check_text("cert-expired-certificate-pruned.yaml")
    first = out.splitlines()[0]
    assert "edgedoctor fix" not in first and first.startswith("CRITICAL cert-issuance cert-expired")
    assert "not offered: force-renew: no cert-manager Certificate writes" in out
    assert "$ edgedoctor fix force-renew" not in out


def test_check_text_still_suggests_a_playbook_that_fits():
    out = _check_text("external-dns-ingress-only.yaml")
    assert "playbooks: external-dns-watch-httproute" in out
    assert "$ edgedoctor fix external-dns-watch-httproute" in out
