"""Kinds that could not be read: every one is named, none silently becomes another cause,
and a Secret the user may not read does not make an edge whose certificate is seen on the
wire UNKNOWN. The library's recordings, with reads refused as a real API server refuses
them (403 per kind, 403 per named Secret)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edgedoctor.diagnosis.engine import diagnose
from edgedoctor.diagnosis.gaps import READER_ROLE, forbidden_line
from edgedoctor.evidence import Evidence
from edgedoctor.kinds import BY_KIND, KINDS
from edgedoctor.recording import load_recording

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "recordings").glob("*.yaml"))
USER_MSG = 'User "viewer" cannot {verb} resource "{res}" in API group "{group}" at the cluster scope'


def _load(path: Path) -> tuple[Evidence, dict[str, Any]]:
    ev, doc = load_recording(str(path))
    return ev, doc.get("expected") or {}


def _refuse(ev: Evidence, kind: str) -> None:
    """What the live reader gives when `kind` is forbidden (per object for Secrets)."""
    k = BY_KIND[kind]
    cl = ev.cluster
    gone = [o for o in cl.objects if o.get("kind") == kind]
    cl.objects = [o for o in cl.objects if o.get("kind") != kind]
    cl.kinds_read = [x for x in cl.kinds_read if x != kind]
    verb = "get" if kind == "Secret" else "list"
    msg = USER_MSG.format(verb=verb, res=k.plural, group=k.group)
    entry = {"kind": kind, "status": "unknown", "http_status": 403, "verb": verb, "resource": k.plural}
    if kind == "Secret":
        for o in gone or [{"metadata": {"namespace": "default", "name": "any"}}]:
            m = o.get("metadata") or {}
            cl.errors.append({**entry, "reason": f"{m.get('namespace')}/{m.get('name')}: forbidden: cannot get secrets ({msg})"})
    else:
        cl.errors.append({**entry, "reason": f"forbidden: cannot list {k.plural} ({msg})"})


def _served_seen(ev: Evidence) -> bool:
    return any(t.get("ok") and t.get("chain_pem") for t in ev.tls or [])


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_unreadable_secret_seen_on_the_wire_is_not_unknown(path: Path) -> None:
    ev, expected = _load(path)
    _refuse(ev, "Secret")
    d = diagnose(ev)
    # Exactly one line for the refusal, naming the role to bind and the user.
    lines = [r for r in d.unknown_reasons if "Secret" in r and READER_ROLE in r]
    assert len(lines) == 1 and "user viewer" in lines[0], d.unknown_reasons
    secret = d.node("secret")
    assert secret is not None
    if secret.details.get("judged_from") == "served-certificate":
        assert d.verdict != "unknown"
        assert (d.verdict, (d.root_cause or {}).get("code")) == (expected["verdict"], expected["root_cause"])
    if expected["verdict"] in ("ok", "warning") and _served_seen(ev):
        # A healthy (or only degraded) edge stays established, unless the Certificate's
        # status says the Secret holds another certificate than the one served.
        if d.verdict == "unknown":
            assert secret.status == "unknown" and "while the listener serves another" in secret.summary
        else:
            assert d.verdict == expected["verdict"]
    if expected["verdict"] == "ok":
        assert d.verdict == "ok", (d.verdict, d.unknown_reasons)


def _kinds_in(ev: Evidence) -> list[str]:
    present = {o.get("kind") for o in ev.cluster.objects}
    return [k.kind for k in KINDS if k.kind in present]


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_an_unreadable_kind_never_silently_changes_the_answer(path: Path) -> None:
    """Either the answer is the recording's, or it is UNKNOWN, or the root cause says which
    kind could not be read; and the kind is always listed."""
    ev0, expected = _load(path)
    for kind in _kinds_in(ev0):
        ev, _ = _load(path)
        _refuse(ev, kind)
        d = diagnose(ev)
        assert any(kind in r and "forbidden" in r for r in d.unknown_reasons), (kind, d.unknown_reasons)
        same = (d.verdict, (d.root_cause or {}).get("code")) == (expected["verdict"], expected["root_cause"])
        summary = (d.root_cause or {}).get("summary", "")
        said = d.verdict == "unknown" or (kind in summary and "could not be read" in summary)
        assert same or said, (kind, d.verdict, d.root_cause)


def test_every_refused_kind_is_in_one_line() -> None:
    ev, _ = _load(ROOT / "recordings" / "healthy-single-gateway.yaml")
    for kind in ("ClusterIssuer", "Deployment", "Service", "Secret"):
        _refuse(ev, kind)
    d = diagnose(ev)
    assert d.verdict == "unknown"
    first = d.unknown_reasons[0]
    for kind in ("ClusterIssuer", "Deployment", "Service", "Secret"):
        assert kind in first
    assert "list clusterissuers, deployments, services" in first and "get secrets" in first
    assert f"--clusterrole={READER_ROLE} --user=viewer" in first
    # The nodes' own reasons that only repeat a refusal are not listed again.
    assert not any("forbidden" in r for r in d.unknown_reasons[1:]), d.unknown_reasons


def test_forbidden_clusterissuers_do_not_pass_for_another_cause() -> None:
    ev, expected = _load(ROOT / "recordings" / "cert-solver-dnszones-subzone.yaml")
    assert expected["root_cause"] == "cert-solver-no-match"
    _refuse(ev, "ClusterIssuer")
    d = diagnose(ev)
    assert d.verdict == "critical"
    assert "ClusterIssuer could not be read" in d.root_cause["summary"]
    assert any("ClusterIssuer" in r for r in d.unknown_reasons)


def test_no_refusal_no_line() -> None:
    assert forbidden_line([{"kind": "Gateway", "status": "unknown", "reason": "CRD for Gateway is not installed"}]) is None
    ev, _ = _load(ROOT / "recordings" / "healthy-single-gateway.yaml")
    d = diagnose(ev)
    assert d.verdict == "ok" and d.unknown_reasons == []
