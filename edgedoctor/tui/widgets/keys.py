"""The keys line at the bottom of every screen: the keys of the screen in front, by priority.

A static line (Textual's Footer recomposes on every focus change, which costs a third
of the first screen's time). The keys are given most important first; on a narrow
terminal the line keeps as many as fit and says how to see the rest (`?`).
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.events import Resize
from textual.widgets import OptionList, Static

Keys = tuple[tuple[str, str], ...]


def fit_keys(keys: Keys, width: int) -> Text:
    """The keys that fit in `width` cells, in priority order, shown in their given order."""
    sep = "  "
    more = "  ? more"
    chosen: list[int] = []
    used = 0
    for i, (key, what) in enumerate(keys):
        cost = len(key) + 1 + len(what) + (len(sep) if chosen else 0)
        reserve = len(more) if i < len(keys) - 1 else 0
        if used + cost + reserve > width:
            continue  # a shorter, less important key may still fit
        chosen.append(i)
        used += cost
    t = Text(no_wrap=True, overflow="crop")
    for n, i in enumerate(chosen):
        key, what = keys[i]
        if n:
            t.append(sep)
        t.append(key, style="bold")
        t.append(" " + what)
    if len(chosen) < len(keys) and used + len(more) <= width and not any(k == "?" for k, _ in (keys[i] for i in chosen)):
        t.append(more, style="dim")
    return t


class KeysBar(Static):
    def __init__(self, keys: Keys, **kw) -> None:
        super().__init__(**kw)
        self.keys = keys

    def set_keys(self, keys: Keys) -> None:
        self.keys = keys
        self._fit(self.size.width)

    def on_mount(self) -> None:
        self._fit(self.size.width or self.app.size.width)

    def on_resize(self, event: Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        # padding: 0 1 in the stylesheet
        self.update(fit_keys(self.keys, max(10, width - 2)))


class NavOptionList(OptionList):
    """An OptionList that also moves with j/k, as the tree and the findings do."""

    BINDINGS = [Binding("j", "cursor_down", "Down", show=False), Binding("k", "cursor_up", "Up", show=False)]
