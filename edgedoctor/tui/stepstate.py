"""The one state a playbook step is in, and how it reads: a mark and a word per state.

Plain functions of the step's plan and what happened to it (its read or dry run, the
change applied, its verification), without Textual: the walkthrough screen shows them.
"""

from __future__ import annotations

from typing import Any

from edgedoctor.app.playbook import outcome as step_outcome

# One word and one mark per state of a step, never shared between two states: a passed dry
# run is not an applied change, and an applied change is not a verified one.
LABELS = {
    "running": ("… {what}", "italic cyan"),
    "verified": ("✔✔ applied, verified", "bold green"),
    "not-verified": ("✔✘ applied, not verified yet", "yellow"),
    "applied": ("✔ applied", "green"),
    "apply-failed": ("✘ apply failed ({outcome})", "bold red"),
    "declined": ("– declined", "yellow"),
    "other-option": ("– other option applied", "dim"),
    "in-place": ("= in place", "green"),
    "manual": ("✎ yours to make (manual/GitOps)", "cyan"),
    "would-change": ("○ would change (read-only)", "dim"),
    "blocked": ("⊘ blocked", "yellow"),
    "dry-run-passed": ("◇ dry run passed", "cyan"),
    "dry-run-failed": ("✘ dry run failed ({outcome})", "bold red"),
    "refused": ("⊘ refused ({outcome})", "yellow"),
    "read": ("✔ read", "green"),
    "read-failed": ("✘ read failed", "bold red"),
    "host-ok": ("✔ verified: host ok", "bold green"),
    "host-not-ok": ("✘ not fixed yet", "bold red"),
    "error": ("✘ error", "bold red"),
}


def result_word(key: str, step: Any, r: Any) -> str:
    """The bracketed word of a result line: says what passed, never a bare "ok" on a failure."""
    out = step_outcome(r)
    if key == "applied":
        return "applied" if r.ok and out == "ok" else f"not applied: {out}"
    if key == "verified":
        return "verified" if r.ok else "not verified yet"
    if step.kind == "change":
        if out == "unchanged":
            return "in place"
        return "passed" if r.ok and out == "ok" else f"failed: {out}"
    if step.check == "rediagnose":
        return "host ok" if r.ok else "not fixed yet"
    return "read" if r.ok else f"failed: {out}"


def is_manual(step: Any) -> bool:
    """A change edgedoctor shows but never makes (a guide's fix, a controller upgrade)."""
    change = getattr(step, "change", None)
    return not change or change.get("op") == "manual"


def step_state(step: Any, st: dict[str, Any], read_only: bool, taken: str | None) -> str:
    """The one state a step is in, for its mark (see LABELS)."""
    if st.get("running"):
        return "running"
    applied = st.get("applied")
    if applied is not None:
        if not (applied.ok and step_outcome(applied) == "ok"):
            return "apply-failed"
        v = st.get("verified")
        if v is None:
            return "applied"
        return "verified" if v.ok else "not-verified"
    if st.get("cancelled"):
        return "declined"
    if taken:
        return "other-option"
    if step.kind == "change" and step.satisfied:
        return "in-place"
    if step.kind == "change" and is_manual(step):
        return "manual"
    if step.kind == "change" and step.blocked:
        return "would-change" if read_only else "blocked"
    r = st.get("result")
    if r is not None:
        out = step_outcome(r)
        if step.kind == "change":
            if out == "unchanged":
                return "in-place"
            if r.ok and out == "ok":
                return "dry-run-passed"
            return "refused" if out in ("denied", "refused", "blocked") else "dry-run-failed"
        if step.check == "rediagnose":
            return "host-ok" if r.ok else "host-not-ok"
        return "read" if r.ok else "read-failed"
    if st.get("error"):
        return "error"
    return ""


def step_label(step: Any, st: dict[str, Any], read_only: bool, taken: str | None = None) -> tuple[str, str]:
    state = step_state(step, st, read_only, taken)
    if not state:
        return "", ""
    text, style = LABELS[state]
    outcome = ""
    for key in ("applied", "result"):
        if st.get(key) is not None:
            outcome = step_outcome(st[key])
            break
    return text.format(what=st.get("running") or "", outcome=outcome), style
