"""The walkthrough's link to `edgedoctor.remedy` (docs/playbook-api.md), without textual.

The screen only shows a Plan and calls an Executor; what a step does, whether it
may run, and how it is audited all live in edgedoctor.remedy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from edgedoctor import remedy
from edgedoctor.evidence import Evidence
from edgedoctor.model import Diagnosis, Finding
from edgedoctor.remedy import changes
from edgedoctor.remedy.audit import DEFAULT_AUDIT_LOG
from edgedoctor.remedy.offer import offers
from edgedoctor.remedy.plan import Plan, StepPlan, StepResult
from edgedoctor.tui.session import Checker


class ExecutorLike(Protocol):
    def run_read(self, step: StepPlan) -> StepResult: ...
    def dry_run(self, step: StepPlan) -> StepResult: ...
    def apply(self, step: StepPlan) -> StepResult: ...
    def verify(self, step: StepPlan) -> StepResult | None: ...
    def record(self, step: StepPlan, outcome: str, message: str) -> StepResult: ...


def plan_walkthrough(playbook_id: str, ev: Evidence, diagnosis: Diagnosis, read_only: bool) -> Plan:
    """The plan; raises PlaybookError with a one-line message (unknown playbook, does not apply)."""
    return remedy.build_plan(playbook_id, ev, diagnosis, read_only=read_only)


def playbook_offers(finding: Finding, ev: Evidence, diagnosis: Diagnosis) -> list[tuple[str, bool, str]]:
    """(playbook, offered, why not) for each of the finding's playbooks: offered only when
    its preconditions hold on this evidence (edgedoctor.remedy.offer decides)."""
    return [(o.playbook_id, o.offered, o.reason) for o in offers(finding, ev, diagnosis)]


def playbook_title(playbook_id: str) -> str:
    for p in available_playbooks():
        if p.get("id") == playbook_id:
            return str(p.get("title") or playbook_id)
    return playbook_id


def available_playbooks() -> list[dict[str, Any]]:
    return remedy.available_playbooks()


def describe_change(change: dict[str, Any] | None) -> str:
    return changes.describe_change(change)


def audit_log_path() -> str:
    """The same audit log `edgedoctor fix` writes to."""
    return DEFAULT_AUDIT_LOG


def make_executor(
    checker: Checker,
    plan: Plan,
    ev: Evidence,
    rediagnose: Callable[[], Diagnosis],
    secret_provider: Callable[[Any], str | None] | None = None,
) -> ExecutorLike:
    """An Executor for this session: no writer at all on a replay or snapshot.

    Blocking (the live writer loads the kubernetes client): call from a worker.
    Raises with a one-line message when the cluster or the audit log is unusable.
    """
    common: dict[str, Any] = {"evidence": ev, "playbook_id": plan.playbook_id, "host": plan.host, "rediagnose": rediagnose}
    if plan.read_only or checker.read_only:
        return remedy.Executor(None, audit_log=None, read_only=True, **common)
    from edgedoctor.kube.writer import ClusterWriter

    opts = checker.base
    writer = ClusterWriter.from_config(opts.kubeconfig, opts.context, timeout=min(opts.timeout, 15.0))
    ex = remedy.Executor(
        writer,
        audit_log=audit_log_path(),
        read_only=False,
        secret_provider=secret_provider,
        context=ev.source.get("context") or ev.cluster.context,
        **common,
    )
    ex.audit.check()  # no change is made without an audit log
    return ex
