"""`?`: the keys, k9s style (esc, q, ? or Enter go back)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from edgedoctor.tui.widgets.keys import KeysBar

SECTIONS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("GENERAL", (
        ("?", "this help"),
        (":", "command palette: switch context, re-check, open a playbook, save a recording"),
        ("/", "filter the tree and the findings by text (Esc clears)"),
        ("ctrl+r", "run the diagnosis again"),
        ("esc", "back: close the filter, leave a screen, leave the host input"),
        ("q / ctrl+c", "quit"),
    )),
    ("DIAGNOSIS", (
        ("h", "edit the host (↑/↓ walk the history, Enter diagnoses)"),
        ("↑ ↓ / j k / mouse", "select a node in the tree or a finding in the list"),
        ("tab", "move between host, tree, detail and findings"),
        ("d", "evidence of the selected node and its findings"),
        ("y", "YAML of the cluster objects behind the node (Secrets redacted)"),
        ("x", "explanation of the finding from the catalog"),
        ("c", "copy one command to the clipboard (the list takes focus: ↓ c copies the next)"),
        ("Enter", "on a node: its evidence; on a failing node or a finding: its walkthrough"),
        ("p", "walk through the selected finding's playbook"),
    )),
    ("WALKTHROUGH", (
        ("n / b", "next / previous step"),
        ("r", "run the step's read or dry run again"),
        ("a", "apply the change: asks first, default No"),
        ("c", "copy the highlighted command of the step (one command)"),
        ("[ / ]", "previous / next command of the step"),
        ("esc", "back to the diagnosis"),
    )),
    ("FLEET", (
        ("↑ ↓ / j k", "move in the hosts (grouped by verdict, then Gateway)"),
        ("Enter", "open the host's diagnosis; esc comes back to the fleet"),
        ("/", "filter the hosts by host, context, Gateway, verdict or code (Esc clears)"),
        ("s", "sort within each group: host, code, days left, slowest"),
        ("ctrl+r", "sweep again"),
        ("h", "type any host"),
    )),
)


def help_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for title, rows in SECTIONS:
        table.add_row(Text(title, style="bold underline"), "")
        for key, what in rows:
            table.add_row(key, what)
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark,enter", "close", "Back"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box", classes="modal-box"):
            yield Label("edgedoctor keys", classes="modal-title")
            with VerticalScroll():
                yield Static(help_table())
            yield Label("Read-only unless a walkthrough step is confirmed. Esc, q, ? or Enter go back.", classes="dim")
        yield KeysBar((("esc/q/?/enter", "back"), ("↑/↓ pgup/pgdn", "scroll"), ("ctrl+c", "quit")), classes="keys")

    def action_close(self) -> None:
        self.dismiss(None)
