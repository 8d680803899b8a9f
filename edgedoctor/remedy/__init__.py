"""Remediation playbooks: plans made from a diagnosis, run step by step.

    from edgedoctor.remedy import available_playbooks, build_plan, Executor

The contract is docs/playbook-api.md. Importing this package does not import the
kubernetes client; the executor's writer does, when a live change is made.
"""

from __future__ import annotations

from edgedoctor.remedy.executor import Executor
from edgedoctor.remedy.plan import (
    NotApplicable,
    Plan,
    PlaybookError,
    StepPlan,
    StepResult,
    UnknownPlaybook,
    available_playbooks,
    build_plan,
    load_playbook,
    playbooks_for,
)

__all__ = [
    "Executor",
    "NotApplicable",
    "Plan",
    "PlaybookError",
    "StepPlan",
    "StepResult",
    "UnknownPlaybook",
    "available_playbooks",
    "build_plan",
    "load_playbook",
    "playbooks_for",
]
