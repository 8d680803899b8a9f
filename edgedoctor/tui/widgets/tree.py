"""The diagnosis tree: the host, then every node of NODE_ORDER with its status.

Nodes still waiting for their evidence show a spinner; `tick` turns it.
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree

from edgedoctor.model import NODE_ORDER, Diagnosis, NodeResult
from edgedoctor.tui.present import SPINNER, STATUS_MARK, STATUS_STYLE, STATUS_WORD

NAME_WIDTH = max(len(n) for n in NODE_ORDER)


class DiagnosisTree(Tree[str]):
    BINDINGS = [Binding("j", "cursor_down", "Down", show=False), Binding("k", "cursor_up", "Up", show=False)]

    def __init__(self, **kw) -> None:
        super().__init__("no host yet", **kw)
        self.show_root = True
        self.guide_depth = 3
        self.results: dict[str, NodeResult] = {}
        self.running: dict[str, str] = {}  # node -> what it is waiting for
        self.filter_text = ""
        self._frame = 0

    # -- state

    def start(self, host: str, waiting: str) -> None:
        self.root.set_label(Text(host, style="bold"))
        self.results = {}
        self.running = {n: waiting for n in NODE_ORDER}
        self._rebuild()

    def failed(self, host: str | None) -> None:
        self.root.set_label(Text(host or "no host yet", style="bold"))
        self.results = {}
        self.running = {}
        self._rebuild()

    def show(self, d: Diagnosis, running: dict[str, str]) -> None:
        self.root.set_label(Text(d.host, style="bold"))
        self.results = {n.node: n for n in d.tree}
        self.running = dict(running)
        self._rebuild()

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip().lower()
        self._rebuild()

    @property
    def visible_nodes(self) -> list[str]:
        return [c.data for c in self.root.children if c.data]

    # -- drawing

    def label_for(self, node: str) -> Text:
        t = Text()
        if node in self.running:
            t.append(SPINNER[self._frame % len(SPINNER)] + " ", style="bold cyan")
            t.append(f"{node:<{NAME_WIDTH}}  ", style="bold")
            t.append(self.running[node], style="italic cyan")
            return t
        r = self.results.get(node)
        if r is None:
            t.append("  ")
            t.append(f"{node:<{NAME_WIDTH}}  ", style="dim")
            return t
        t.append(STATUS_MARK[r.status] + " ", style=STATUS_STYLE[r.status])
        t.append(f"{node:<{NAME_WIDTH}}  ", style="bold")
        t.append(f"{STATUS_WORD[r.status]:<7} ", style=STATUS_STYLE[r.status])
        t.append(" ".join(r.summary.split()), style="dim" if r.status == "skip" else "")
        return t

    def _matches(self, node: str) -> bool:
        if not self.filter_text:
            return True
        r = self.results.get(node)
        text = f"{node} {r.status} {r.summary}" if r else node
        return self.filter_text in text.lower()

    def _rebuild(self) -> None:
        current = self.cursor_node.data if self.cursor_node is not None else None
        self.root.remove_children()
        target = None
        if self.results or self.running:
            for node in NODE_ORDER:
                if self._matches(node):
                    leaf = self.root.add_leaf(self.label_for(node), data=node)
                    if node == current:
                        target = leaf
        self.root.expand()
        if target is not None:
            # Lines are laid out on the next refresh; the cursor can only go there then.
            self.call_after_refresh(self.move_cursor, target)

    def tick(self) -> None:
        if not self.running:
            return
        self._frame += 1
        for child in self.root.children:
            if child.data in self.running:
                child.set_label(self.label_for(child.data))

    def keep_cursor_visible(self) -> None:
        if self.cursor_node is not None:
            self.scroll_to_node(self.cursor_node, animate=False)

    def move_to(self, node: str) -> None:
        def go() -> None:
            for child in self.root.children:
                if child.data == node:
                    self.move_cursor(child)
                    return

        self.call_after_refresh(go)
