"""The host input: up/down walk the history of hosts checked."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input

from edgedoctor.tui.history import History


class HostInput(Input):
    BINDINGS = [
        Binding("up", "older", "Older host", show=False),
        Binding("down", "newer", "Newer host", show=False),
    ]

    def __init__(self, history: History, **kw) -> None:
        super().__init__(placeholder="hostname, e.g. app.example.com (Enter to diagnose)", **kw)
        self.history = history
        self.cursor_blink = False

    def _put(self, value: str | None) -> None:
        if value is None:
            return
        self.value = value
        self.cursor_position = len(value)

    def action_older(self) -> None:
        self._put(self.history.older())

    def action_newer(self) -> None:
        self._put(self.history.newer())
