"""The top line: where the evidence comes from and which host is diagnosed (k9s style)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from edgedoctor.tui.session import SourceInfo


class HeaderBar(Static):
    def show(self, source: SourceInfo, host: str | None, now: str | None, read_only: bool) -> None:
        t = Text()
        t.append(" edgedoctor ", style="bold reverse")
        for label, value in (
            ("context", source.context or "-"),
            ("cluster", source.cluster or "-"),
            ("source", source.label),
            ("host", host or "-"),
        ):
            t.append(f"  {label}: ", style="dim")
            t.append(value, style="bold")
        if now:
            t.append("  as of ", style="dim")
            t.append(now)
        t.append("  read-only" if read_only else "  live: changes only after you confirm", style="dim italic")
        self.update(t)
