"""Scenario inputs for the TUI tests: snapshots from tests/casekit.py, recordings from them.

Every file is written into a tmp dir with a fixed name, so nothing on screen
depends on where the test runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edgedoctor.evidence import Evidence
from edgedoctor.recording import write_recording
from edgedoctor.snapshot import load_snapshot
from tests import casekit
from tests.tui.kit import NOW, SCENARIOS, scenario_edits


@pytest.fixture(scope="session")
def scenario_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("tui-scenarios")
    for name, (case_name, host) in SCENARIOS.items():
        objs = casekit.apply_edits(casekit.base_objects(), casekit.expand(scenario_edits(case_name)))
        snap = casekit.write_snapshot(objs, d / f"{name}.yaml")
        ev = Evidence(
            host=host,
            now=NOW,
            source={"kind": "live", "context": "prod-eu", "cluster": "prod-eu-1"},
            cluster=load_snapshot([snap]),
            options={"offline": True},
            tool_version="0.1.0",
        )
        ev.cluster.context, ev.cluster.cluster = "prod-eu", "prod-eu-1"
        rec = d / "recordings"
        rec.mkdir(exist_ok=True)
        write_recording(rec / f"{name}.yaml", ev)
    return d


@pytest.fixture
def snapshot_of(scenario_dir):
    def get(name: str) -> str:
        return str(scenario_dir / f"{name}.yaml")

    return get


@pytest.fixture
def recording_of(scenario_dir):
    def get(name: str) -> str:
        return str(scenario_dir / "recordings" / f"{name}.yaml")

    return get
