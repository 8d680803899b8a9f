"""How a playbook's changes are run, the same for `edgedoctor fix` and the TUI walkthrough:
which change steps are considered, which refusals stop the run, that at most one option of
a choice is applied, that a change is verified after it was made, and how a diagnosis
reads in the "before -> after" line of a re-diagnosis.

The front ends only ask (a prompt, a dialog) and show; what is decided is decided here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from edgedoctor.model import Diagnosis
from edgedoctor.remedy.plan import Plan, StepPlan, StepResult

# Dry-run outcomes that let a change go ahead ("unchanged": already in place).
PASSABLE = ("ok", "unchanged")


class Applier(Protocol):
    def apply(self, step: StepPlan) -> StepResult: ...
    def verify(self, step: StepPlan) -> StepResult | None: ...


def considered_steps(plan: Plan, yes: bool) -> list[StepPlan]:
    """The change steps that may run: with --yes (no one to ask), only the recommended
    option of a choice and no optional step.

    A choice one of whose options is wholly in place is decided: none of its steps runs
    (a second run must not switch to the other option and undo the first).
    """
    options: dict[tuple[str, str], bool] = {}
    for s in plan.change_steps:
        if s.choice and not s.optional:
            key = (s.choice, str(s.option))
            options[key] = options.get(key, True) and bool(s.satisfied)
    decided = {choice for (choice, _), done in options.items() if done}
    out = []
    for s in plan.change_steps:
        if s.choice in decided:
            continue
        if s.optional and yes:
            continue
        if s.choice and yes and not s.recommended:
            continue
        out.append(s)
    return out


def fatal_steps(considered: list[StepPlan], bad: list[StepPlan], pre: dict[str, StepResult]) -> list[StepPlan]:
    """The refused steps that stop the whole run: a required step, or every option of a
    choice (one option that can run is enough)."""
    fatal = [s for s in bad if not s.choice and not s.optional]
    groups: dict[str, dict[str, bool]] = {}
    for s in considered:
        if s.choice:
            ok = pre[s.id].outcome in PASSABLE
            g = groups.setdefault(s.choice, {})
            g[str(s.option)] = g.get(str(s.option), True) and ok
    for name, options in groups.items():
        if not any(options.values()):
            fatal += [s for s in bad if s.choice == name]
    return fatal


@dataclass
class Choices:
    """The steps of one `choice` are alternatives: at most one `option` of it is applied.
    An option declined at the prompt, or whose dry run was refused, leaves the others."""

    applied: dict[str, str] = field(default_factory=dict)  # choice -> the option applied
    passed_over: dict[str, set[str]] = field(default_factory=dict)  # declined or cannot run

    @classmethod
    def after_dry_run(cls, plan: Plan, pre: dict[str, StepResult]) -> Choices:
        c = cls()
        for s in plan.change_steps:
            if s.choice and s.id in pre and pre[s.id].outcome not in PASSABLE:
                c.passed_over.setdefault(s.choice, set()).add(str(s.option))
        return c

    def taken_by_other(self, step: StepPlan) -> str | None:
        """Why `step` must not run because another option of its choice was applied."""
        if step.choice and step.choice in self.applied and self.applied[step.choice] != str(step.option):
            return f"option {self.applied[step.choice]} of {step.choice} was applied"
        return None

    def skip_reason(self, step: StepPlan) -> str | None:
        """Why `step` is skipped (None: it may be offered)."""
        taken = self.taken_by_other(step)
        if taken:
            return taken
        if step.choice and str(step.option) in self.passed_over.get(step.choice, set()):
            return f"option {step.option} of {step.choice} was declined or cannot run"
        return None

    def declined(self, step: StepPlan) -> None:
        if step.choice:
            self.passed_over.setdefault(step.choice, set()).add(str(step.option))

    def was_applied(self, step: StepPlan) -> None:
        if step.choice:
            self.applied[step.choice] = str(step.option)


def outcome(r: StepResult) -> str:
    """The outcome word of a result (an executor that left it empty: ok or failed)."""
    return r.outcome or ("ok" if r.ok else "failed")


def apply_and_verify(ex: Applier, step: StepPlan) -> tuple[StepResult, StepResult | None]:
    """Make the change; when it was made (not refused, not already in place), read the
    step's named verification."""
    result = ex.apply(step)
    verified = ex.verify(step) if result.ok and outcome(result) == "ok" else None
    return result, verified


def verdict_line(d: Diagnosis | None) -> str:
    """A diagnosis as it reads in a "before -> after" line: the verdict and the root cause."""
    if d is None:
        return "-"
    if d.root_cause:
        return f"{d.verdict} {d.root_cause['code']}"
    return d.verdict
