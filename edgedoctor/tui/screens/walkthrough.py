"""The guided runbook: one playbook step at a time, changes only after a Yes.

For every step: what it reads or changes, the equivalent command, the read or
dry-run result; for a change, a confirmation (default No), then the re-check and
its effect on the root cause before the next step. On a replay or snapshot the
plan is read-only: it shows what it would do and changes nothing.
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
from textual.widgets import Button, Footer, OptionList, Static
from textual.widgets.option_list import Option

from edgedoctor.evidence import Evidence
from edgedoctor.model import Diagnosis
from edgedoctor.tui.messages import DiagnosisChanged, Rechecked, StepOutcome
from edgedoctor.tui.present import root_label, short, yaml_block
from edgedoctor.tui.session import Checker

READ_ONLY_NOTE = (
    "READ-ONLY ({kind}): this walkthrough shows what each step would read and change, "
    "and changes nothing."
)


class WalkthroughScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("n", "next", "Next step"),
        Binding("b", "previous", "Previous", show=False),
        Binding("a", "apply", "Apply…"),
        Binding("r", "rerun", "Run again"),
        Binding("c", "copy", "Copy cmd"),
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
        self._executor_factory = executor_factory
        self._executor: Any = None
        self._executor_lock = threading.Lock()

    @property
    def read_only(self) -> bool:
        return bool(getattr(self.plan, "read_only", True)) or self.checker.read_only

    @property
    def step(self) -> Any:
        return self.plan.steps[self.index]

    # -- layout

    def compose(self) -> ComposeResult:
        yield Static(id="walk-title")
        yield Static(id="walk-readonly")
        yield Static(id="walk-notes")
        with Horizontal(id="walk-body"):
            yield OptionList(id="walk-steps")
            with VerticalScroll(id="walk-step-scroll"):
                yield Static(id="walk-step")
                yield Static(id="walk-result")
                yield Static(id="walk-effect")
        with Horizontal(id="walk-buttons"):
            yield Button("Run again (r)", id="rerun")
            yield Button("Apply… (a)", id="apply", variant="warning")
            yield Button("Next step (n)", id="next", variant="primary")
            yield Button("Back (esc)", id="back")
        yield Footer()

    def on_mount(self) -> None:
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
        ro = self.query_one("#walk-readonly", Static)
        if self.read_only:
            ro.update(Text(READ_ONLY_NOTE.format(kind=self.checker.kind), style="bold yellow"))
        else:
            ro.update(Text("LIVE: reads and dry runs go to the cluster; a change runs only after you answer Yes.", style="bold"))
        notes = [str(n) for n in getattr(self.plan, "notes", []) or []]
        self.query_one("#walk-notes", Static).update(Text("\n".join(f"note: {n}" for n in notes), style="italic"))
        self.query_one("#walk-notes").display = bool(notes)
        self._steps_list()
        if self.plan.steps:
            self.query_one("#walk-steps", OptionList).highlighted = 0
            self.query_one("#walk-steps", OptionList).focus()
            self._enter(0)
        else:
            self.query_one("#walk-step", Static).update(Text("this playbook has no step for this host", style="dim"))

    # -- the step list

    def _mark(self, i: int) -> Text:
        st = self.state.get(i, {})
        step = self.plan.steps[i]
        if st.get("running"):
            return Text("… " + st["running"], style="italic cyan")
        if st.get("applied") is not None:
            return Text("✔ applied" if st["applied"].ok else "✘ change failed", style="green" if st["applied"].ok else "bold red")
        if st.get("cancelled"):
            return Text("– cancelled", style="yellow")
        if step.blocked and step.kind == "change":
            return Text("– would change" if self.read_only else "– blocked", style="dim")
        r = st.get("result")
        if r is not None:
            return Text("✔" if r.ok else "✘", style="green" if r.ok else "bold red")
        if st.get("error"):
            return Text("✘ error", style="bold red")
        return Text("")

    def _steps_list(self) -> None:
        ol = self.query_one("#walk-steps", OptionList)
        keep = ol.highlighted
        ol.clear_options()
        for i, s in enumerate(self.plan.steps):
            t = Text()
            t.append(f"{i + 1}. ", style="bold")
            t.append(f"{'reads  ' if s.kind == 'read' else 'changes'} ", style="cyan" if s.kind == "read" else "bold yellow")
            t.append(str(s.title))
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

    def _enter(self, i: int) -> None:
        self.index = i
        st = self.state.setdefault(i, {})
        step = self.step
        if not st.get("result") and not st.get("running") and not st.get("error") and not step.blocked:
            self._start(i, "read" if step.kind == "read" else "dry-run")
        self._render_step()

    def _render_step(self) -> None:
        step, i = self.step, self.index
        st = self.state.get(i, {})
        t = Text()
        t.append(f"Step {i + 1} of {len(self.plan.steps)} · ", style="dim")
        t.append("reads (changes nothing)" if step.kind == "read" else "CHANGES the cluster", style="cyan" if step.kind == "read" else "bold yellow")
        t.append(f"\n{step.title}\n\n", style="bold")
        if step.explain:
            t.append(str(step.explain).strip() + "\n\n")
        if step.target:
            t.append("target: ", style="dim")
            t.append(f"{step.target}\n")
        if step.command:
            t.append("equivalent command (c copies):\n", style="dim")
            t.append(f"  $ {step.command}\n", style="bold")
        parts: list = [t]
        if step.change:
            parts.append(Text("the exact change:", style="dim"))
            parts.append(Text(_indent(yaml_block(step.change)) + "\n"))
        if step.verify:
            parts.append(Text(f"verified afterwards by: {step.verify}\n", style="dim"))
        if step.gitops:
            parts.append(Text(f"GitOps: {step.gitops}\n", style="bold yellow"))
        if step.blocked:
            label = "would change, but not here: " if self.read_only else "cannot run here: "
            parts.append(Text(label + str(step.blocked) + "\n", style="yellow"))
        self.query_one("#walk-step", Static).update(Group(*parts))
        self.query_one("#walk-result", Static).update(self._result_text(st))
        self.query_one("#walk-effect", Static).update(self._effect_text(step, st))
        self._buttons()

    def _result_text(self, st: dict[str, Any]) -> Text:
        t = Text()
        if st.get("running"):
            t.append(f"{st['running']}…\n", style="italic cyan")
        for key, label in (("result", "dry run" if self.step.kind == "change" else "read"), ("applied", "change")):
            r = st.get(key)
            if r is None:
                continue
            t.append(f"{label}: ", style="bold")
            t.append("ok  " if r.ok else "FAILED  ", style="green" if r.ok else "bold red")
            t.append(f"{r.message}\n")
            details = getattr(r, "details", None) or {}
            if details:
                t.append(_indent(yaml_block(details)) + "\n", style="dim")
        if st.get("error"):
            t.append("error: ", style="bold red")
            t.append(f"{st['error']}\n")
        if st.get("cancelled"):
            t.append("cancelled: nothing was changed\n", style="yellow")
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
                t.append("the change did not move the root cause (yet)\n", style="yellow")
            elif after is not None and after.verdict == "ok":
                t.append(f"{after.host} works now\n", style="bold green")
        elif st.get("recheck_error"):
            t.append(f"re-check failed: {st['recheck_error']}\n", style="bold red")
        elif self.read_only:
            t.append("re-check: nothing was changed here, so the root cause stays ", style="dim")
            t.append(root_label(self.diagnosis) + "\n")
        return t

    def _can_apply(self) -> bool:
        step = self.step if self.plan.steps else None
        if step is None or step.kind != "change" or step.blocked or self.read_only or not step.change:
            return False
        st = self.state.get(self.index, {})
        r = st.get("result")
        return not st.get("running") and r is not None and r.ok and st.get("applied") is None

    def _buttons(self) -> None:
        self.query_one("#apply", Button).disabled = not self._can_apply()
        last = not self.plan.steps or self.index >= len(self.plan.steps) - 1
        self.query_one("#next", Button).disabled = last
        self.query_one("#rerun", Button).disabled = not self.plan.steps or bool(self.step.blocked)

    # -- work

    def _get_executor(self) -> Any:
        with self._executor_lock:
            if self._executor is None:
                if self._executor_factory is not None:
                    self._executor = self._executor_factory()
                else:
                    from edgedoctor.tui.walk import make_executor

                    self._executor = make_executor(self.checker, self.plan)
            return self._executor

    def _start(self, i: int, action: str) -> None:
        st = self.state.setdefault(i, {})
        st["running"] = {"read": "reading", "dry-run": "dry run", "apply": "applying the change"}[action]
        st.pop("error", None)
        self._steps_list()
        self._run(i, action, self.plan.steps[i])

    @work(thread=True, exclusive=False, exit_on_error=False, group="step")
    def _run(self, i: int, action: str, step: Any) -> None:
        try:
            ex = self._get_executor()
            fn = {"read": ex.run_read, "dry-run": ex.dry_run, "apply": ex.apply}[action]
            result = fn(step)
        except Exception as e:  # a cluster or remedy error is a line on screen
            self.post_message(StepOutcome(i, "error", f"{type(e).__name__}: {e}" if not str(e) else str(e)))
            return
        self.post_message(StepOutcome(i, action, result))

    @on(StepOutcome)
    def _outcome(self, msg: StepOutcome) -> None:
        st = self.state.setdefault(msg.index, {})
        st.pop("running", None)
        if msg.action == "error":
            st["error"] = short(msg.result, 400)
        elif msg.action == "apply":
            st["applied"] = msg.result
            if msg.result.ok:
                st["running"] = "re-checking"
                self._recheck(msg.index, self.diagnosis)
        else:
            st["result"] = msg.result
        self._steps_list()
        if msg.index == self.index:
            self._render_step()

    @work(thread=True, exclusive=True, exit_on_error=False, group="recheck")
    def _recheck(self, i: int, before: Diagnosis) -> None:
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
            self._replan()
        self._steps_list()
        if msg.index == self.index:
            self._render_step()

    def _replan(self) -> None:
        """Later steps are planned from the new evidence (names move after a change)."""
        from edgedoctor.tui.walk import plan_walkthrough

        try:
            plan = plan_walkthrough(self.plan.playbook_id, self.ev, self.diagnosis)
        except Exception:
            return
        if [s.id for s in plan.steps] == [s.id for s in self.plan.steps]:
            self.plan = plan

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
        if not self.plan.steps or self.step.blocked:
            return
        st = self.state.get(self.index, {})
        if st.get("running"):
            return
        st.pop("result", None)
        self._start(self.index, "read" if self.step.kind == "read" else "dry-run")
        self._render_step()

    def action_copy(self) -> None:
        if self.plan.steps and self.step.command:
            self.app.copy_to_clipboard(self.step.command)
            self.notify(self.step.command, title="copied to the clipboard")

    def action_apply(self) -> None:
        step = self.step if self.plan.steps else None
        if step is None:
            return
        if not self._can_apply():
            if self.read_only:
                why = f"read-only ({self.checker.kind}): nothing is changed here"
            elif step.kind != "change":
                why = "this step only reads"
            elif step.blocked:
                why = str(step.blocked)
            else:
                why = "the dry run has to succeed first"
            self.notify(why, title="not applied", severity="warning")
            return
        from edgedoctor.tui.screens.modals import ConfirmChange

        body = Text()
        body.append(f"{step.title}\n\n", style="bold")
        if step.target:
            body.append(f"target: {step.target}\n")
        body.append(_indent(yaml_block(step.change)) + "\n\n")
        if step.gitops:
            body.append(f"GitOps: {step.gitops}\n\n", style="bold yellow")
        body.append(f"$ {step.command}\n", style="dim")
        index = self.index

        def answered(yes: bool | None) -> None:
            st = self.state.setdefault(index, {})
            if yes:
                st.pop("cancelled", None)
                self._start(index, "apply")
            else:
                st["cancelled"] = True
                self.notify("nothing was changed", title="cancelled")
                self._steps_list()
            if index == self.index:
                self._render_step()

        self.app.push_screen(ConfirmChange("Apply this change to the cluster?", body), answered)

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        action = {"rerun": self.action_rerun, "apply": self.action_apply, "next": self.action_next, "back": self.action_back}
        handler = action.get(event.button.id or "")
        if handler:
            handler()


def _indent(text: str, pad: str = "  ") -> str:
    return "\n".join(pad + line for line in text.splitlines())
