"""The list of findings, root cause first (the engine's order)."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from edgedoctor.model import Finding
from edgedoctor.tui.present import SEVERITY_STYLE, SEVERITY_WORD, short


class FindingsTable(DataTable):
    BINDINGS = [Binding("j", "cursor_down", "Down", show=False), Binding("k", "cursor_up", "Up", show=False)]

    def __init__(self, **kw) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kw)
        self.findings: list[Finding] = []
        self.filter_text = ""
        # How many playbooks apply here, by code: their preconditions are judged on the
        # evidence after the first frame (the playbook layer is not loaded before it); None
        # until then.
        self.offered: dict[str, int] | None = None

    def on_mount(self) -> None:
        self.add_column("sev", key="sev", width=4)
        self.add_column("code", key="code", width=30)
        self.add_column("node", key="node", width=19)
        self.add_column("playbooks", key="playbooks", width=9)
        self.add_column("message", key="message")

    def show(self, findings: list[Finding]) -> None:
        prev = self.current
        self.findings = list(findings)
        self.offered = None
        self._rebuild(prev)

    def set_offered(self, offered: dict[str, int]) -> None:
        self.offered = dict(offered)
        self._rebuild(self.current)

    def _playbooks_cell(self, f: Finding) -> Text:
        """▶ N: N playbooks apply here (Enter opens one); "guide": none does, Enter opens the
        walkthrough made from the catalog entry; "…": not judged yet."""
        if self.offered is None:
            return Text("…" if f.playbooks else "guide", style="dim")
        n = self.offered.get(f.code, 0)
        return Text(f"▶ {n}", style="cyan") if n else Text("guide", style="dim")

    def set_filter(self, text: str) -> None:
        prev = self.current
        self.filter_text = text.strip().lower()
        self._rebuild(prev)

    def _matches(self, f: Finding) -> bool:
        if not self.filter_text:
            return True
        text = f"{f.code} {f.severity} {f.node} {f.category} {f.message} {' '.join(f.playbooks)}"
        return self.filter_text in text.lower()

    @property
    def shown(self) -> list[Finding]:
        return [f for f in self.findings if self._matches(f)]

    def _rebuild(self, current: Finding | None) -> None:
        self.clear()
        for f in self.shown:
            self.add_row(
                Text(SEVERITY_WORD[f.severity], style=SEVERITY_STYLE[f.severity]),
                Text(f.code, style="bold"),
                f.node,
                self._playbooks_cell(f),
                short(f.message, 400),
                key=f.code,
            )
        if current is not None:
            codes = [f.code for f in self.shown]
            if current.code in codes:
                self.move_cursor(row=codes.index(current.code), animate=False)

    @property
    def current(self) -> Finding | None:
        visible = self.shown
        if not visible or self.row_count == 0:
            return None
        row = self.cursor_row
        return visible[row] if 0 <= row < len(visible) else None

    def finding(self, code: str) -> Finding | None:
        return next((f for f in self.findings if f.code == code), None)
