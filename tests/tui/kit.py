"""Helpers of the TUI tests: scenarios, app factories, fakes of the playbook API's shapes."""

from __future__ import annotations

import threading
from typing import Any

from edgedoctor.collect import CheckOptions
from edgedoctor.evidence import Evidence
from edgedoctor.remedy.plan import Plan, StepPlan, StepResult
from edgedoctor.snapshot import load_snapshot
from edgedoctor.tui.history import History
from edgedoctor.tui.session import Checker
from tests import casekit

NOW = casekit.NOW
SIZE = (130, 40)
# name -> (case name in tests/cases, host)
SCENARIOS = {
    "cloudflare": ("cert-cloudflare-7003-cleanup", "app.example.com"),
    "route-missing": ("route-missing", "api.example.com"),
    "external-dns-down": ("external-dns-down", "app.example.com"),
    "healthy": (None, "app.example.com"),
}


def scenario_edits(case_name: str | None) -> dict[str, Any]:
    if case_name is None:
        return {}
    case = next(c for c in casekit.load_cases() if c["name"] == case_name)
    return case.get("broken") or {}


def snapshot_checker(path: str, offline: bool = True, cls: type[Checker] = Checker) -> Checker:
    return cls(CheckOptions(host="", snapshots=[path], offline=offline, now=NOW))


def replay_checker(path: str) -> Checker:
    return Checker(CheckOptions(host="", replay=path))


def make_app(checker: Checker, host: str | None = None):
    from edgedoctor.tui.app import EdgeDoctorApp

    return EdgeDoctorApp(checker, host, History(None))


async def settle(pilot) -> None:
    """Wait for the workers and the messages they posted, never a fixed sleep."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


class SlowProbes(Checker):
    """A snapshot checker whose probe phase waits for the test to release it."""

    def __init__(self, base: CheckOptions) -> None:
        super().__init__(base)
        self.release = threading.Event()
        self.probed: list[str] = []

    def begin_probes(self, host: str):
        return None  # nothing starts early: the test decides when the probes finish

    def probe(self, ev: Evidence, run=None) -> Evidence:
        assert self.release.wait(30), "the test never released the probes"
        self.probed.append(ev.host)
        ev.options["offline"] = False  # no network in tests: the probes find nothing new
        return ev


# -- playbook API shapes (docs/playbook-api.md), for walking without edgedoctor.remedy


# The walkthrough is driven with the real plan types and a fake executor.
FakeStep = StepPlan
FakePlan = Plan
FakeResult = StepResult


class FakeExecutor:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def run_read(self, step):
        self.calls.append(("read", step.id))
        return FakeResult(True, f"read {step.id}: Issuing=False")

    def dry_run(self, step):
        self.calls.append(("dry-run", step.id))
        return FakeResult(True, "allowed (SelfSubjectAccessReview); server dry run accepted")

    def apply(self, step):
        self.calls.append(("apply", step.id))
        return FakeResult(True, "applied")

    def verify(self, step):
        return None  # no named read to show

    def record(self, step, outcome, message):
        self.calls.append((outcome, step.id))
        return FakeResult(True, message, outcome=outcome)


def fake_plan(host: str, read_only: bool) -> FakePlan:
    return FakePlan(
        playbook_id="cleanup-stuck-orders",
        title="Clean up stuck Orders and Challenges",
        host=host,
        read_only=read_only,
        notes=["only this Certificate's requests are touched"],
        steps=[
            FakeStep(
                id="read-order",
                kind="read",
                title="See the Order and its Challenges",
                explain="Reads the Order of the current revision.",
                command="kubectl -n gateway get order wildcard-example-com-1-2264498345 -o yaml",
                target="Order gateway/wildcard-example-com-1-2264498345",
            ),
            FakeStep(
                id="delete-order",
                kind="change",
                title="Delete the stuck Order",
                explain="cert-manager creates a new Order for the same request.",
                command="kubectl -n gateway delete order wildcard-example-com-1-2264498345",
                target="Order gateway/wildcard-example-com-1-2264498345",
                change={"op": "delete", "kind": "Order", "namespace": "gateway", "name": "wildcard-example-com-1-2264498345"},
                blocked="read-only: this is a snapshot" if read_only else None,
                verify="order-state",
            ),
        ],
    )


class FakeLive(Checker):
    """Reports itself as live, but reads snapshot files: before a change, and after it.

    No cluster is touched; the walkthrough's re-check reads `after`.
    """

    def __init__(self, before: str, after: str) -> None:
        super().__init__(CheckOptions(host="", offline=True, now=NOW, context="prod-eu"))
        self.before, self.after = before, after
        self.rechecks = 0

    @property
    def kind(self) -> str:
        return "live"

    def _read(self, host: str, path: str) -> Evidence:
        cluster = load_snapshot([path])
        cluster.context, cluster.cluster = "prod-eu", "prod-eu-1"
        return Evidence(host=host, now=NOW, source={"kind": "live", "context": "prod-eu"}, cluster=cluster,
                        options={"offline": True})

    def read_cluster(self, host: str) -> Evidence:
        return self._read(host, self.before)

    def full(self, host: str):
        self.rechecks += 1
        ev = self._read(host, self.after)
        return ev, self.diagnose(ev)


def plain(widget) -> str:
    """What a Static shows, as text (Rich renderables rendered without colour)."""
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=200, color_system=None, legacy_windows=False)
    console.print(widget.content)
    return console.file.getvalue()


def walk_step_text(screen) -> str:
    """Everything the walkthrough shows about the current step: head, commands, the rest."""
    ol = screen.query_one("#walk-cmds")
    cmds = [str(ol.get_option_at_index(i).prompt) for i in range(ol.option_count)] if ol.display else []
    return "\n".join([plain(screen.query_one("#walk-step")), *cmds, plain(screen.query_one("#walk-after-cmds"))])
