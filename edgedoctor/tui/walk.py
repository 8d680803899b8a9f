"""The walkthrough's link to `edgedoctor.remedy` (docs/playbook-api.md), without textual.

The screen only shows a Plan and calls an Executor; what a step does, whether it
may run, and how it is audited all live in edgedoctor.remedy.
"""

from __future__ import annotations

from collections.abc import Callable
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


def plan_walkthrough(playbook_id: str, ev: Evidence, diagnosis: Diagnosis, read_only: bool) -> Any:
    """The plan; raises with a one-line message (unknown playbook, does not apply, ...)."""
    remedy = _remedy()
    try:
        return remedy.build_plan(playbook_id, ev, diagnosis, read_only=read_only)
    except TypeError:  # an older build_plan without the read_only keyword
        plan = remedy.build_plan(playbook_id, ev, diagnosis)
        plan.read_only = plan.read_only or read_only
        return plan


def playbook_offers(finding: Any, ev: Evidence, diagnosis: Diagnosis) -> list[tuple[str, bool, str]]:
    """(playbook, offered, why not) for each of the finding's playbooks: offered only when
    its preconditions hold on this evidence (edgedoctor.remedy.offer decides)."""
    try:
        from edgedoctor.remedy.offer import offers
    except ImportError:
        return [(p, True, "") for p in finding.playbooks]
    return [(o.playbook_id, o.offered, o.reason) for o in offers(finding, ev, diagnosis)]


def playbook_title(playbook_id: str) -> str:
    for p in available_playbooks():
        if p.get("id") == playbook_id:
            return str(p.get("title") or playbook_id)
    return playbook_id


def available_playbooks() -> list[dict[str, Any]]:
    try:
        return list(_remedy().available_playbooks())
    except Exception:  # no remedy, or a broken playbook file: the palette just lists fewer
        return []


def describe_change(change: dict[str, Any] | None) -> str:
    try:
        from edgedoctor.remedy.changes import describe_change as describe
    except ImportError:
        describe = None
    if describe is not None:
        try:
            return describe(change)
        except Exception:  # a change shape the describer does not know: show the raw fields
            pass
    if not change:
        return ""
    ns = change.get("namespace")
    return f"{change.get('op')} {change.get('kind')} {ns + '/' if ns else ''}{change.get('name')}"


def audit_log_path() -> str:
    """The same audit log `edgedoctor fix` writes to."""
    try:
        from edgedoctor.remedy.audit import DEFAULT_AUDIT_LOG
    except ImportError:
        return "edgedoctor-audit.log"
    return DEFAULT_AUDIT_LOG


def make_executor(
    checker: Checker,
    plan: Any,
    ev: Evidence,
    rediagnose: Callable[[], Diagnosis],
    secret_provider: Callable[[Any], str | None] | None = None,
) -> ExecutorLike:
    """An Executor for this session: no writer at all on a replay or snapshot.

    Blocking (the live writer loads the kubernetes client): call from a worker.
    Raises with a one-line message when the cluster or the audit log is unusable.
    """
    remedy = _remedy()
    common = {"evidence": ev, "playbook_id": plan.playbook_id, "host": plan.host, "rediagnose": rediagnose}
    if bool(getattr(plan, "read_only", True)) or checker.read_only:
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
    audit = getattr(ex, "audit", None)
    if audit is not None and hasattr(audit, "check"):
        audit.check()  # no change is made without an audit log
    return ex
