"""The walkthrough's link to `edgedoctor.remedy` (playbook-api.md), without textual.

The screen only shows a Plan and calls an Executor; everything about what a step
does, whether it may run and how it is audited lives in edgedoctor.remedy.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

from edgedoctor.evidence import Evidence
from edgedoctor.model import Diagnosis
from edgedoctor.tui.session import Checker


class PlaybooksUnavailable(Exception):
    pass


class ExecutorLike(Protocol):
    def run_read(self, step: Any) -> Any: ...
    def dry_run(self, step: Any) -> Any: ...
    def apply(self, step: Any) -> Any: ...


def _remedy():
    try:
        import edgedoctor.remedy as remedy
    except ImportError as e:
        raise PlaybooksUnavailable(f"playbooks are not available in this build ({e.name} missing)") from None
    if not hasattr(remedy, "build_plan") or not hasattr(remedy, "Executor"):
        raise PlaybooksUnavailable("playbooks are not available in this build (edgedoctor.remedy incomplete)")
    return remedy


def plan_walkthrough(playbook_id: str, ev: Evidence, diagnosis: Diagnosis) -> Any:
    return _remedy().build_plan(playbook_id, ev, diagnosis)


def available_playbooks() -> list[dict[str, Any]]:
    try:
        return list(_remedy().available_playbooks())
    except PlaybooksUnavailable:
        return []


def audit_log_path() -> str:
    """Changes made from the TUI are logged next to the host history."""
    from edgedoctor.tui.history import default_path

    return str(default_path().with_name("audit.log"))


def make_executor(checker: Checker, plan: Any) -> ExecutorLike:
    """An Executor for this session: no writer at all on a replay or snapshot.

    Blocking (the live writer loads the kubernetes client): call from a worker.
    """
    remedy = _remedy()
    read_only = bool(getattr(plan, "read_only", True)) or checker.read_only
    if read_only:
        return remedy.Executor(None, audit_log=None, read_only=True)
    from edgedoctor.kube.writer import ClusterWriter

    writer = ClusterWriter.from_config(checker.base.kubeconfig, checker.base.context)
    path = audit_log_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return remedy.Executor(writer, audit_log=path, read_only=False)
