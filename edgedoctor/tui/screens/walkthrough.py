"""The guided runbook: one playbook step at a time, changes only after a Yes.

For every step: what it reads or changes, the equivalent command, the read or
dry-run result; for a change, a confirmation (default No), then the re-check and
its effect on the root cause before the next step. On a replay or snapshot the
plan is read-only: it shows what it would do and changes nothing. What a step
does and whether it may run is decided by edgedoctor.remedy, not here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from edgedoctor.app.playbook import Choices, apply_and_verify
from edgedoctor.app.playbook import outcome as step_outcome
from edgedoctor.evidence import Evidence
from edgedoctor.model import Diagnosis
from edgedoctor.remedy.plan import StepPlan
from edgedoctor.textfmt import indent
from edgedoctor.tui.messages import DiagnosisChanged, Rechecked, StepOutcome
from edgedoctor.tui.present import root_label, short, yaml_block
from edgedoctor.tui.session import Checker
from edgedoctor.tui.walk import audit_log_path, describe_change
from edgedoctor.tui.widgets.keys import KeysBar, NavOptionList

READ_ONLY_NOTE = (
    "READ-ONLY ({kind}): this walkthrough shows what each step would read and change, "
    "and changes nothing."
)
GOOD_OUTCOMES = ("ok", "unchanged", "")
KEYS = (
    ("n/b", "next/prev step"), ("a", "apply… (asks first)"), ("c", "copy cmd"), ("[ ]", "choose cmd"),
    ("r", "run again"), ("esc", "back"), ("?", "help"), ("q", "quit"),
)



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


def _result_word(key: str, step: Any, r: Any) -> str:
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


class WalkthroughScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("n", "next", "Next step"),
        Binding("b", "previous", "Previous"),
        Binding("a", "apply", "Apply…"),
        Binding("r", "rerun", "Run again"),
        Binding("c", "copy", "Copy cmd"),
        Binding("right_square_bracket", "command(1)", "Next cmd", show=False),
        Binding("left_square_bracket", "command(-1)", "Prev cmd", show=False),
    ]

    def __init__(
        self,
        plan: Any,
        checker: Checker,
        ev: Evidence,
        diagnosis: Diagnosis,
        code: str | None = None,
        executor_factory: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__()
        self.plan = plan
        self.checker = checker
        self.ev = ev
        self.diagnosis = diagnosis
        self.code = code
        self.index = 0
        self.state: dict[int, dict[str, Any]] = {}
        self.choices = Choices()  # at most one option of a choice is applied (app.playbook)
        self._executor_factory = executor_factory
        self._executor: Any = None
        self._executor_lock = threading.Lock()
        self._secret: str | None = None  # only between "apply" and the executor asking for it

    @property
    def read_only(self) -> bool:
        return bool(self.plan.read_only) or self.checker.read_only

    @property
    def step(self) -> Any:
        return self.plan.steps[self.index]

    # -- layout

    def compose(self) -> ComposeResult:
        from edgedoctor.tui.screens.sizes import NARROW, SHORT

        width, height = self.app.size
        self.set_class(width < NARROW, "-narrow", update=False)  # styled once, not again after mount
        self.set_class(height < SHORT, "-short", update=False)
        yield Static(id="walk-title")
        yield Static(id="walk-readonly")
        yield Static(id="walk-notes")
        with Horizontal(id="walk-body"):
            yield NavOptionList(id="walk-steps")
            with VerticalScroll(id="walk-step-scroll"):
                yield Static(id="walk-step")
                yield NavOptionList(id="walk-cmds")
                yield Static(id="walk-after-cmds")
                yield Static(id="walk-countdown")
                yield Static(id="walk-result")
                yield Static(id="walk-effect")
        with Horizontal(id="walk-buttons"):
            yield Button("Run again (r)", id="rerun", compact=True)
            yield Button("Apply… (a)", id="apply", variant="warning", compact=True)
            yield Button("Next step (n)", id="next", variant="primary", compact=True)
            yield Button("Back (esc)", id="back", compact=True)
        yield KeysBar(KEYS, id="walk-keys")

    def on_resize(self, event) -> None:
        self._layout(event.size.width, event.size.height)

    def _layout(self, width: int, height: int) -> None:
        from edgedoctor.tui.screens.sizes import NARROW, SHORT

        self.set_class(width < NARROW, "-narrow")
        self.set_class(height < SHORT, "-short")

    def on_mount(self) -> None:
        self._title()
        ro = self.query_one("#walk-readonly", Static)
        self.set_interval(1.0, self._countdown)
        if str(self.plan.playbook_id).startswith("guide:"):
            ro.update(Text("GUIDE: the reads confirm the cause; the fix steps are yours to make (manual or GitOps); "
                           "edgedoctor changes nothing here.", style="bold cyan"))
        elif self.read_only:
            ro.update(Text(READ_ONLY_NOTE.format(kind=self.checker.kind), style="bold yellow"))
        else:
            ro.update(Text.assemble(
                ("LIVE: ", "bold"),
                "reads and dry runs go to the cluster; a change runs only after you answer Yes. ",
                (f"Changes are logged to {audit_log_path()}.", "dim"),
            ))
        lines = []
        summary = str(self.plan.summary or "")
        if summary:
            lines.append(summary)
        lines += [f"precondition: {p}" for p in self.plan.preconditions or []]
        lines += [f"note: {n}" for n in self.plan.notes or []]
        notes = self.query_one("#walk-notes", Static)
        notes.update(Text("\n".join(lines), style="italic"))
        notes.display = bool(lines)
        self._steps_list()
        ol = self.query_one("#walk-steps", OptionList)
        ol.focus()
        if self.plan.steps:
            ol.highlighted = 0
            self._enter(0)
        else:
            self.query_one("#walk-step", Static).update(Text("this playbook has no step for this host", style="dim"))
            self._buttons()

    def _title(self) -> None:
        t = Text()
        t.append("Playbook: ", style="dim")
        t.append(str(self.plan.title), style="bold")
        t.append(f"  ({self.plan.playbook_id})  for ", style="dim")
        t.append(str(self.plan.host), style="bold")
        if self.code:
            t.append(f"  from finding {self.code}", style="dim")
        t.append("\nroot cause now: ", style="dim")
        t.append(root_label(self.diagnosis))
        self.query_one("#walk-title", Static).update(t)

    # -- the step list

    def _taken_by_other(self, step: StepPlan) -> str | None:
        return self.choices.taken_by_other(step)

    def _mark(self, i: int) -> Text:
        mark, style = step_label(self.plan.steps[i], self.state.get(i, {}), self.read_only, self._taken_by_other(self.plan.steps[i]))
        return Text(mark, style=style)

    def _steps_list(self) -> None:
        ol = self.query_one("#walk-steps", OptionList)
        keep = ol.highlighted
        ol.clear_options()
        for i, s in enumerate(self.plan.steps):
            t = Text()
            t.append(f"{i + 1}. ", style="bold")
            t.append("reads   " if s.kind == "read" else "changes ", style="cyan" if s.kind == "read" else "bold yellow")
            t.append(str(s.title))
            if s.optional:
                t.append(" (optional)", style="dim")
            t.append("  ")
            t.append_text(self._mark(i))
            ol.add_option(Option(t, id=f"step-{i}"))
        if keep is not None and self.plan.steps:
            ol.highlighted = min(keep, len(self.plan.steps) - 1)

    @on(OptionList.OptionHighlighted, "#walk-steps")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_index != self.index:
            self._enter(event.option_index)

    # -- one step

    def _auto_action(self, step: Any) -> str | None:
        """The step's own non-changing action: its read, or the dry run of its change."""
        if step.kind == "read":
            return None if step.blocked else "read"
        if self.read_only or step.blocked or step.satisfied or self._taken_by_other(step):
            return None
        return "dry-run"

    def _enter(self, i: int) -> None:
        if i != self.index:
            # A new step starts at its head ("CHANGES the cluster"), not where the last one was scrolled.
            self.query_one("#walk-step-scroll").scroll_home(animate=False)
        self.index = i
        st = self.state.setdefault(i, {})
        action = self._auto_action(self.step)
        if action and not st.get("result") and not st.get("running") and not st.get("error"):
            self._start(i, action)
        self._render_step()

    def _render_step(self) -> None:
        if not self.plan.steps:
            return
        step, i = self.step, self.index
        st = self.state.get(i, {})
        t = Text()
        t.append(f"Step {i + 1} of {len(self.plan.steps)} · ", style="dim")
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
        cmds, withheld = self.step_commands(step)
        if cmds:
            many = f"{len(cmds)} commands: [ and ] choose, " if len(cmds) > 1 else "the command: "
            t.append(f"{many}c copies one\n", style="dim")
        t.rstrip()  # the command list follows at once
        self.query_one("#walk-step", Static).update(t)
        self._show_commands(cmds)
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
            parts.append(Text("would change: " if self.read_only else "the change: ", style="dim"))
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
        taken = self._taken_by_other(step)
        if taken:
            parts.append(Text(f"skipped: {taken}\n", style="dim"))
        if step.blocked:
            label = "not run here: " if not self.read_only else "read-only: "
            parts.append(Text(label + str(step.blocked) + "\n", style="yellow"))
        self.query_one("#walk-after-cmds", Static).update(Group(*parts))
        self._countdown()
        self.query_one("#walk-result", Static).update(self._result_text(st))
        self.query_one("#walk-effect", Static).update(self._effect_text(step, st))
        self._buttons()

    def _countdown(self) -> None:
        """A step that makes sense only from a time on (the end of a cache) counts down to it."""
        box = self.query_one("#walk-countdown", Static)
        deadline = getattr(self.step, "deadline", None) if self.plan.steps else None
        if not deadline:
            box.display = False
            return
        from edgedoctor.tui.guide import seconds_left

        left = seconds_left(deadline)
        box.display = True
        if left is None:
            box.update("")
        elif left > 0:
            box.update(Text.assemble(("re-check at ", "dim"), (deadline, "bold"),
                                     (f": {left // 3600:02d}:{left % 3600 // 60:02d}:{left % 60:02d} left\n", "bold yellow")))
        else:
            box.update(Text.assemble(("the wait ended at ", "dim"), (deadline, "bold"),
                                     (": re-check now (r)\n", "bold green")))

    def _result_text(self, st: dict[str, Any]) -> Text:
        t = Text()
        if st.get("running"):
            t.append(f"{st['running']}…\n", style="italic cyan")
        labels = (("result", "dry run" if self.step.kind == "change" else "read"), ("applied", "change"), ("verified", "verify"))
        for key, label in labels:
            r = st.get(key)
            if r is None:
                continue
            t.append(f"{label}: ", style="bold")
            t.append(f"[{_result_word(key, self.step, r)}] ", style="green" if r.ok else "bold red")
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

    def _effect_text(self, step: Any, st: dict[str, Any]) -> Text:
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
        elif self.read_only:
            t.append("re-check: nothing was changed here, so the root cause stays ", style="dim")
            t.append(root_label(self.diagnosis) + "\n")
        return t

    def _can_apply(self) -> bool:
        if not self.plan.steps:
            return False
        step = self.step
        if step.kind != "change" or self.read_only or step.blocked or not step.change:
            return False
        if step.satisfied or self._taken_by_other(step):
            return False
        st = self.state.get(self.index, {})
        r = st.get("result")
        return not st.get("running") and r is not None and r.ok and step_outcome(r) == "ok" and st.get("applied") is None

    def _buttons(self) -> None:
        self.query_one("#apply", Button).disabled = not self._can_apply()
        last = not self.plan.steps or self.index >= len(self.plan.steps) - 1
        self.query_one("#next", Button).disabled = last
        self.query_one("#rerun", Button).disabled = not self.plan.steps or self._auto_action(self.step) is None

    # -- work (thread workers; results come back as messages)

    def _rediagnose(self) -> Diagnosis:
        if self.checker.read_only:
            return self.checker.diagnose(self.ev)
        return self.checker.full(self.plan.host)[1]

    def _get_executor(self) -> Any:
        with self._executor_lock:
            if self._executor is None:
                if self._executor_factory is not None:
                    self._executor = self._executor_factory()
                else:
                    from edgedoctor.tui.walk import make_executor

                    self._executor = make_executor(
                        self.checker, self.plan, self.ev, self._rediagnose, secret_provider=lambda step: self._secret
                    )
            return self._executor

    def _start(self, i: int, action: str) -> None:
        st = self.state.setdefault(i, {})
        st["running"] = {"read": "reading", "dry-run": "dry run", "apply": "applying the change"}[action]
        st.pop("error", None)
        self._steps_list()
        self._run(i, action, self.plan.steps[i])

    @work(thread=True, exit_on_error=False, group="step")
    def _run(self, i: int, action: str, step: Any) -> None:
        try:
            ex = self._get_executor()
            if action == "read":
                self.post_message(StepOutcome(i, "read", ex.run_read(step)))
            elif action == "dry-run":
                self.post_message(StepOutcome(i, "dry-run", ex.dry_run(step)))
            else:
                try:
                    result, verified = apply_and_verify(ex, step)
                finally:
                    self._secret = None
                self.post_message(StepOutcome(i, "apply", result))
                if verified is not None:
                    self.post_message(StepOutcome(i, "verify", verified))
        except Exception as e:  # a cluster or remedy error is a line on screen
            self.post_message(StepOutcome(i, "error", str(e) or type(e).__name__))

    @work(thread=True, exit_on_error=False, group="step")
    def _record_declined(self, step: Any) -> None:
        if self._executor is not None:
            try:
                self._executor.record(step, "declined", "declined at the prompt: not applied")
            except Exception as e:
                self.post_message(StepOutcome(self.index, "error", f"audit: {e}"))

    @on(StepOutcome)
    def _outcome_msg(self, msg: StepOutcome) -> None:
        st = self.state.setdefault(msg.index, {})
        st.pop("running", None)
        if msg.action == "error":
            st["error"] = short(msg.result, 400)
        elif msg.action == "apply":
            st["applied"] = msg.result
            step = self.plan.steps[msg.index]
            if msg.result.ok and step_outcome(msg.result) == "ok":
                if step.choice:
                    self.choices.was_applied(step)
                st["running"] = "re-checking"
                self._recheck(msg.index)
        elif msg.action == "verify":
            st["verified"] = msg.result
            if "effect" not in st and "recheck_error" not in st:
                st["running"] = "re-checking"
        else:
            st["result"] = msg.result
        self._steps_list()
        if msg.index == self.index:
            self._render_step()

    @work(thread=True, exclusive=True, exit_on_error=False, group="recheck")
    def _recheck(self, i: int) -> None:
        try:
            ev, d = self.checker.full(self.plan.host)
        except Exception as e:
            self.post_message(Rechecked(i, None, None, str(e) or type(e).__name__))
            return
        self.post_message(Rechecked(i, ev, d, None))

    @on(Rechecked)
    def _rechecked(self, msg: Rechecked) -> None:
        st = self.state.setdefault(msg.index, {})
        st.pop("running", None)
        if msg.error or msg.diagnosis is None or msg.ev is None:
            st["recheck_error"] = msg.error or "no diagnosis"
        else:
            st["effect"] = (self.diagnosis, msg.diagnosis)
            self.ev, self.diagnosis = msg.ev, msg.diagnosis
            main = getattr(self.app, "main_screen", None)
            if main is not None:
                main.post_message(DiagnosisChanged(msg.ev, msg.diagnosis))
            self._title()
        self._steps_list()
        if msg.index == self.index:
            self._render_step()

    # -- actions

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_next(self) -> None:
        if self.plan.steps and self.index < len(self.plan.steps) - 1:
            self.query_one("#walk-steps", OptionList).highlighted = self.index + 1

    def action_previous(self) -> None:
        if self.index > 0:
            self.query_one("#walk-steps", OptionList).highlighted = self.index - 1

    def action_rerun(self) -> None:
        if not self.plan.steps:
            return
        action = self._auto_action(self.step)
        st = self.state.setdefault(self.index, {})
        if action is None or st.get("running"):
            return
        st.pop("result", None)
        self._start(self.index, action)
        self._render_step()

    def step_commands(self, step: Any) -> tuple[list[str], list[str]]:
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

    def _show_commands(self, cmds: list[str]) -> None:
        ol = self.query_one("#walk-cmds", OptionList)
        ol.clear_options()
        ol.add_options([Option(Text("$ " + c, style="bold"), id=f"cmd-{i}") for i, c in enumerate(cmds)])
        ol.display = bool(cmds)
        if cmds:
            ol.highlighted = 0

    def selected_command(self) -> str | None:
        if not self.plan.steps:
            return None
        cmds, _ = self.step_commands(self.step)
        if not cmds:
            return None
        i = self.query_one("#walk-cmds", OptionList).highlighted or 0
        return cmds[i] if 0 <= i < len(cmds) else cmds[0]

    def action_command(self, delta: int) -> None:
        ol = self.query_one("#walk-cmds", OptionList)
        if ol.option_count:
            ol.highlighted = max(0, min(ol.option_count - 1, (ol.highlighted or 0) + delta))

    def action_copy(self) -> None:
        command = self.selected_command()
        if command is None:
            self.notify("this step has no command to copy", severity="warning")
            return
        self.app.copy_to_clipboard(command)
        self.notify(command, title="copied to the clipboard")

    @on(OptionList.OptionSelected, "#walk-cmds")
    def _command_chosen(self, event: OptionList.OptionSelected) -> None:
        self.action_copy()

    def _why_not(self, step: Any) -> str:
        st = self.state.get(self.index, {})
        if self.read_only:
            return f"read-only ({self.checker.kind}): nothing is changed here"
        if step.kind != "change":
            return "this step only reads"
        if step.satisfied:
            return f"nothing to change: {step.satisfied}"
        if self._taken_by_other(step):
            return str(self._taken_by_other(step))
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

    def action_apply(self) -> None:
        if not self.plan.steps:
            return
        step = self.step
        if not self._can_apply():
            why = self._why_not(step)
            # The toast is cut to a few lines: the step pane keeps the whole reason.
            self.state.setdefault(self.index, {})["why_not"] = why
            self._render_step()
            self.notify(why, title="not applied", severity="warning")
            return
        from edgedoctor.tui.screens.modals import AskSecret, ConfirmChange

        change = step.change or {}
        ns = change.get("namespace")
        obj = f"{change.get('kind')} {ns + '/' if ns else ''}{change.get('name')}"
        context = self.ev.source.get("context") or self.ev.cluster.context or "(current context)"
        cluster = self.ev.cluster.cluster or "?"
        body = Text()
        # Who, where and what, before anything else: the context and cluster the change goes to.
        for label, value in (("context", context), ("cluster", cluster), ("verb", str(change.get("op") or "?")),
                             ("object", obj)):
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
        index = self.index

        def with_secret(value: str | None) -> None:
            if not value:
                self.notify("no value given: nothing was changed", title="not applied", severity="warning")
                return
            self._secret = value
            self._start(index, "apply")
            self._render_step()

        def answered(yes: bool | None) -> None:
            st = self.state.setdefault(index, {})
            if yes:
                st.pop("cancelled", None)
                if step.secret_input:
                    self.app.push_screen(AskSecret(str(step.secret_input)), with_secret)
                    return
                self._start(index, "apply")
            else:
                st["cancelled"] = True
                self._record_declined(step)
                self.notify("nothing was changed", title="declined")
                self._steps_list()
            if index == self.index:
                self._render_step()

        question = f"{str(change.get('op') or 'change').capitalize()} {obj} in context {context}?"
        self.app.push_screen(ConfirmChange(question, body), answered)

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        action = {"rerun": self.action_rerun, "apply": self.action_apply, "next": self.action_next, "back": self.action_back}
        handler = action.get(event.button.id or "")
        if handler:
            handler()


CHANGE_FIELDS = ("op", "kind", "namespace", "name", "patch_type", "subresource", "fields", "body")


def change_view(change: dict[str, Any] | None) -> dict[str, Any]:
    """The fields of a change a person checks before saying Yes (not the access list)."""
    return {k: change[k] for k in CHANGE_FIELDS if change and change.get(k) not in (None, "", [], {})}
