"""What the walkthrough screen says of a playbook and its steps, as rich text.

Plain functions of the plan, a step, its state (see stepstate) and the diagnosis, without
Textual: the screen (edgedoctor.tui.screens.walkthrough) only puts them in its widgets.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text

from edgedoctor.model import Diagnosis
from edgedoctor.textfmt import indent
from edgedoctor.tui.present import root_label, yaml_block
from edgedoctor.tui.stepstate import is_manual, result_word
from edgedoctor.tui.walk import audit_log_path, describe_change

READ_ONLY_NOTE = (
    "READ-ONLY ({kind}): this walkthrough shows what each step would read and change, "
    "and changes nothing."
)
CHANGE_FIELDS = ("op", "kind", "namespace", "name", "patch_type", "subresource", "fields", "body")


def change_view(change: dict[str, Any] | None) -> dict[str, Any]:
    """The fields of a change a person checks before saying Yes (not the access list)."""
    return {k: change[k] for k in CHANGE_FIELDS if change and change.get(k) not in (None, "", [], {})}


def change_object(change: dict[str, Any]) -> str:
    """`Kind namespace/name` of the object a change goes to."""
    ns = change.get("namespace")
    return f"{change.get('kind')} {ns + '/' if ns else ''}{change.get('name')}"


def step_commands(step: Any) -> tuple[list[str], list[str]]:
    """(the commands offered for the step, the ones withheld).

    One command per entry, so that `c` copies exactly one; a read step offers
    only commands that read, whatever its template says.
    """
    from edgedoctor.shellcmd import reading_commands, split_commands

    if not step.command or step.satisfied:
        return [], []  # already in place: nothing to run
    if step.kind == "read":
        return reading_commands(str(step.command))
    return split_commands(str(step.command)), []


# -- the playbook

def title_text(plan: Any, code: str | None, diagnosis: Diagnosis) -> Text:
    t = Text()
    t.append("Playbook: ", style="dim")
    t.append(str(plan.title), style="bold")
    t.append(f"  ({plan.playbook_id})  for ", style="dim")
    t.append(str(plan.host), style="bold")
    if code:
        t.append(f"  from finding {code}", style="dim")
    t.append("\nroot cause now: ", style="dim")
    t.append(root_label(diagnosis))
    return t


def mode_text(plan: Any, read_only: bool, kind: str) -> Text:
    """What this walkthrough may do: a guide's reads, a picture's nothing, or live changes."""
    if str(plan.playbook_id).startswith("guide:"):
        return Text("GUIDE: the reads confirm the cause; the fix steps are yours to make (manual or GitOps); "
                    "edgedoctor changes nothing here.", style="bold cyan")
    if read_only:
        return Text(READ_ONLY_NOTE.format(kind=kind), style="bold yellow")
    return Text.assemble(
        ("LIVE: ", "bold"),
        "reads and dry runs go to the cluster; a change runs only after you answer Yes. ",
        (f"Changes are logged to {audit_log_path()}.", "dim"),
    )


def notes_lines(plan: Any) -> list[str]:
    lines = []
    summary = str(plan.summary or "")
    if summary:
        lines.append(summary)
    lines += [f"precondition: {p}" for p in plan.preconditions or []]
    lines += [f"note: {n}" for n in plan.notes or []]
    return lines


def step_option(i: int, step: Any, mark: Text) -> Text:
    """One line of the step list: number, reads/changes, title, its state's mark."""
    t = Text()
    t.append(f"{i + 1}. ", style="bold")
    t.append("reads   " if step.kind == "read" else "changes ", style="cyan" if step.kind == "read" else "bold yellow")
    t.append(str(step.title))
    if step.optional:
        t.append(" (optional)", style="dim")
    t.append("  ")
    t.append_text(mark)
    return t


# -- one step

def step_head(step: Any, i: int, count: int, cmds: list[str]) -> Text:
    """What kind of step, its title, and how to copy its commands (which follow at once)."""
    t = Text()
    t.append(f"Step {i + 1} of {count} · ", style="dim")
    if step.kind == "read":
        t.append("reads (changes nothing)", style="cyan")
    elif step.satisfied:
        t.append("already in place (nothing to run)", style="green")
    elif is_manual(step):
        t.append("a change you make (manual or GitOps)", style="bold cyan")
    else:
        t.append("CHANGES the cluster", style="bold yellow")
    t.append(f"\n{step.title}\n\n", style="bold")
    if step.choice:
        rec = ", recommended" if step.recommended else ""
        t.append(f"option {step.option} of {step.choice}{rec}: apply at most one option\n", style="cyan")
    # The command right under the title: on a small terminal it is what must stay in view.
    if cmds:
        many = f"{len(cmds)} commands: [ and ] choose, " if len(cmds) > 1 else "the command: "
        t.append(f"{many}c copies one\n", style="dim")
    t.rstrip()
    return t


def step_about(step: Any, withheld: list[str], read_only: bool, taken: str | None) -> Group:
    """Below the commands: why the step, its target, the change, and what stops it."""
    about = Text()
    if step.explain:
        about.append(str(step.explain).strip() + "\n\n")
    if step.target:
        about.append("target: ", style="dim")
        about.append(f"{step.target}\n")
    parts: list = [about]
    if withheld:
        parts.append(Text(f"{len(withheld)} command(s) of this step would change something: a read step "
                          "does not offer them\n", style="yellow"))
    if step.change and not step.satisfied:
        parts.append(Text("would change: " if read_only else "the change: ", style="dim"))
        parts.append(Text(describe_change(step.change) + "\n", style="bold"))
        parts.append(Text(indent(yaml_block(change_view(step.change))) + "\n", style="dim"))
    if step.secret_input:
        parts.append(Text(f"asks for {step.secret_input} when applying; it is never stored or shown\n", style="yellow"))
    if step.verify:
        parts.append(Text(f"verified afterwards by: {step.verify}\n", style="dim"))
    if step.gitops and not step.satisfied:
        parts.append(Text(f"GitOps: {step.gitops}\n", style="bold yellow"))
    if step.git_snippet and not step.satisfied:
        parts.append(Text("change this in Git instead:", style="dim"))
        parts.append(Text(indent(str(step.git_snippet).rstrip()) + "\n"))
    if step.satisfied:
        parts.append(Text(f"nothing to change: {step.satisfied}\n", style="green"))
    if taken:
        parts.append(Text(f"skipped: {taken}\n", style="dim"))
    if step.blocked:
        label = "not run here: " if not read_only else "read-only: "
        parts.append(Text(label + str(step.blocked) + "\n", style="yellow"))
    return Group(*parts)


def countdown_text(deadline: str) -> Text:
    """How long until a step that makes sense only from a time on (the end of a cache)."""
    from edgedoctor.tui.guide import seconds_left

    left = seconds_left(deadline)
    if left is None:
        return Text("")
    if left > 0:
        return Text.assemble(("re-check at ", "dim"), (deadline, "bold"),
                             (f": {left // 3600:02d}:{left % 3600 // 60:02d}:{left % 60:02d} left\n", "bold yellow"))
    return Text.assemble(("the wait ended at ", "dim"), (deadline, "bold"), (": re-check now (r)\n", "bold green"))


def result_text(step: Any, st: dict[str, Any]) -> Text:
    """What the step's runs gave: its read or dry run, the change, its verification."""
    t = Text()
    if st.get("running"):
        t.append(f"{st['running']}…\n", style="italic cyan")
    labels = (("result", "dry run" if step.kind == "change" else "read"), ("applied", "change"), ("verified", "verify"))
    for key, label in labels:
        r = st.get(key)
        if r is None:
            continue
        t.append(f"{label}: ", style="bold")
        t.append(f"[{result_word(key, step, r)}] ", style="green" if r.ok else "bold red")
        t.append(f"{r.message}\n")
        details = r.details or {}
        if details:
            t.append(indent(yaml_block(details)) + "\n", style="dim")
    if st.get("error"):
        t.append("error: ", style="bold red")
        t.append(f"{st['error']}\n")
    if st.get("cancelled"):
        t.append("declined: nothing was changed\n", style="yellow")
    if st.get("why_not"):
        t.append("not applied: ", style="bold yellow")
        t.append(f"{st['why_not']}\n")
    return t


def effect_text(step: Any, st: dict[str, Any], read_only: bool, diagnosis: Diagnosis) -> Text:
    """A change's effect on the root cause, from the re-check after it."""
    t = Text()
    if step.kind != "change":
        return t
    effect = st.get("effect")
    if effect is not None:
        before, after = effect
        t.append("re-check: ", style="bold")
        t.append(f"root cause before: {root_label(before)}  →  after: {root_label(after)}\n")
        if root_label(before) == root_label(after):
            t.append("no change yet: controllers may need a minute; ctrl+r on the diagnosis runs it again\n", style="yellow")
        elif after is not None and after.verdict == "ok":
            t.append(f"{after.host} works now\n", style="bold green")
    elif st.get("recheck_error"):
        t.append(f"re-check failed: {st['recheck_error']}\n", style="bold red")
    elif read_only:
        t.append("re-check: nothing was changed here, so the root cause stays ", style="dim")
        t.append(root_label(diagnosis) + "\n")
    return t


def why_not(step: Any, st: dict[str, Any], read_only: bool, kind: str, taken: str | None) -> str:
    """Why `a` does not apply this step now."""
    if read_only:
        return f"read-only ({kind}): nothing is changed here"
    if step.kind != "change":
        return "this step only reads"
    if step.satisfied:
        return f"nothing to change: {step.satisfied}"
    if taken:
        return str(taken)
    if step.blocked:
        return str(step.blocked)
    if st.get("applied") is not None:
        return "already applied"
    if st.get("running"):
        return f"{st['running']}…"
    r = st.get("result")
    if r is not None and r.ok:
        return f"nothing to change: {r.message}"
    return "the dry run has to pass first"


def confirm_body(step: Any, context: str, cluster: str) -> Text:
    """What the confirmation shows before Yes: who, where and what first, then the change."""
    change = step.change or {}
    body = Text()
    for label, value in (("context", context), ("cluster", cluster), ("verb", str(change.get("op") or "?")),
                         ("object", change_object(change))):
        body.append(f"{label:<8}", style="dim")
        body.append(f"{value}\n", style="bold")
    body.append(f"\n{step.title}\n\n", style="bold")
    body.append(describe_change(step.change) + "\n", style="bold")
    if step.target:
        body.append(f"target: {step.target}\n")
    body.append(indent(yaml_block(change_view(step.change))) + "\n\n", style="dim")
    if step.gitops:
        body.append(f"GitOps: {step.gitops}\n\n", style="bold yellow")
    body.append(f"$ {step.command}\n", style="dim")
    return body
