"""Small modal screens: confirm a change (default No), ask for a path, pick a playbook."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from edgedoctor.tui.widgets.keys import KeysBar


class ConfirmChange(ModalScreen[bool]):
    """Asks before any change. Enter, Esc and n answer No; only Yes (or y) applies."""

    BINDINGS = [
        Binding("escape", "answer(False)", "No"),
        Binding("n", "answer(False)", "No", show=False),
        Binding("y", "answer(True)", "Yes", show=False),
    ]

    def __init__(self, title: str, body: Text | str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="modal-box"):
            yield Label(self.title_text, id="confirm-title", classes="modal-title")
            with VerticalScroll(id="confirm-scroll"):
                yield Static(self.body, id="confirm-body")
            with Horizontal(classes="modal-buttons"):
                yield Button("No (keep it as it is)", id="no", variant="primary")
                yield Button("Yes, apply", id="yes", variant="error")
        yield KeysBar((("n/esc/enter", "No"), ("y", "Yes, apply"), ("tab", "switch button")), classes="keys")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class AskPath(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, placeholder: str) -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="ask-box", classes="modal-box"):
            yield Label(self.title_text, classes="modal-title")
            yield Input(placeholder=self.placeholder, id="ask-path")
            yield Label("Enter saves, Esc cancels. Secrets are already redacted in the evidence.", classes="dim")
        yield KeysBar((("enter", "save"), ("esc", "cancel")), classes="keys")

    def on_mount(self) -> None:
        box = self.query_one(Input)
        box.cursor_blink = False
        box.focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PickPlaybook(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("j", "move(1)", show=False), Binding("k", "move(-1)", show=False)]

    def __init__(self, code: str, playbooks: list[tuple[str, str]]) -> None:
        """playbooks: (id, title); the title is what a person chooses by."""
        super().__init__()
        self.code = code
        self.playbooks = playbooks

    def compose(self) -> ComposeResult:
        with Vertical(id="pick-box", classes="modal-box"):
            yield Label(f"Playbooks for {self.code} (Enter opens, Esc cancels)", classes="modal-title")
            yield OptionList(*[Option(Text.assemble((title, "bold"), (f"  {pid}", "dim")), id=pid)
                               for pid, title in self.playbooks], id="pick")
        yield KeysBar((("enter", "open"), ("j/k ↑/↓", "choose"), ("esc", "cancel")), classes="keys")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def action_move(self, delta: int) -> None:
        ol = self.query_one(OptionList)
        ol.action_cursor_down() if delta > 0 else ol.action_cursor_up()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class AskSecret(ModalScreen[str | None]):
    """A value a change needs at apply time (an API token): typed hidden, never kept."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical(id="secret-box", classes="modal-box"):
            yield Label(f"This change needs {self.what}", classes="modal-title")
            yield Input(password=True, placeholder="typed value is hidden; Enter applies, Esc cancels", id="secret")
            yield Label("The value goes to the API server only; it is not stored, logged or shown.", classes="dim")
        yield KeysBar((("enter", "apply"), ("esc", "cancel")), classes="keys")

    def on_mount(self) -> None:
        box = self.query_one(Input)
        box.cursor_blink = False
        box.focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        value = event.value
        event.input.value = ""
        self.dismiss(value or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
