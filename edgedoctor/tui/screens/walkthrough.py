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
from edgedoctor.tui import steptext
from edgedoctor.tui.messages import DiagnosisChanged, Rechecked, StepOutcome
from edgedoctor.tui.present import short
from edgedoctor.tui.session import Checker
from edgedoctor.tui.stepstate import step_label
from edgedoctor.tui.widgets.keys import KeysBar, NavOptionList

KEYS = (
    ("n/b", "next/prev step"), ("a", "apply… (asks first)"), ("c", "copy cmd"), ("[ ]", "choose cmd"),
    ("r", "run again"), ("esc", "back"), ("?", "help"), ("q", "quit"),
)


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
        self.set_interval(1.0, self._countdown)
        self.query_one("#walk-readonly", Static).update(steptext.mode_text(self.plan, self.read_only, self.checker.kind))
        lines = steptext.notes_lines(self.plan)
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
        self.query_one("#walk-title", Static).update(steptext.title_text(self.plan, self.code, self.diagnosis))

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
            ol.add_option(Option(steptext.step_option(i, s, self._mark(i)), id=f"step-{i}"))
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
        cmds, withheld = self.step_commands(step)
        self.query_one("#walk-step", Static).update(steptext.step_head(step, i, len(self.plan.steps), cmds))
        self._show_commands(cmds)
        about = steptext.step_about(step, withheld, self.read_only, self._taken_by_other(step))
        self.query_one("#walk-after-cmds", Static).update(about)
        self._countdown()
        self.query_one("#walk-result", Static).update(steptext.result_text(step, st))
        self.query_one("#walk-effect", Static).update(steptext.effect_text(step, st, self.read_only, self.diagnosis))
        self._buttons()

    def _countdown(self) -> None:
        """A step that makes sense only from a time on (the end of a cache) counts down to it."""
        box = self.query_one("#walk-countdown", Static)
        deadline = getattr(self.step, "deadline", None) if self.plan.steps else None
        box.display = bool(deadline)
        if deadline:
            box.update(steptext.countdown_text(deadline))

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
        """(the commands offered for the step, the ones withheld): see steptext.step_commands."""
        return steptext.step_commands(step)

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
        return steptext.why_not(step, self.state.get(self.index, {}), self.read_only, self.checker.kind,
                                self._taken_by_other(step))

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
        context = self.ev.source.get("context") or self.ev.cluster.context or "(current context)"
        body = steptext.confirm_body(step, context, self.ev.cluster.cluster or "?")
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

        question = f"{str(change.get('op') or 'change').capitalize()} {steptext.change_object(change)} in context {context}?"
        self.app.push_screen(ConfirmChange(question, body), answered)

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        action = {"rerun": self.action_rerun, "apply": self.action_apply, "next": self.action_next, "back": self.action_back}
        handler = action.get(event.button.id or "")
        if handler:
            handler()

