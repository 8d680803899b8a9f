"""The detail pane of the selected node: evidence, YAML, commands, explanation."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.renderables.bar import Bar
from textual.widget import Widget
from textual.widgets import Static
from textual.widgets.option_list import Option

from edgedoctor import catalog
from edgedoctor.evidence import Evidence
from edgedoctor.model import Diagnosis, Finding
from edgedoctor.textfmt import indent
from edgedoctor.tui.present import (
    STATUS_STYLE,
    STATUS_WORD,
    category_words,
    finding_text,
    reflow,
    yaml_block,
)
from edgedoctor.tui.session import PROBE_NODES
from edgedoctor.tui.widgets.keys import NavOptionList

TABS = ("evidence", "yaml", "commands", "explain")
TITLES = {"evidence": "Evidence (d)", "yaml": "YAML (y)", "commands": "Commands (c copies)", "explain": "Explain (x)"}


class TabsPreview(Widget):
    """The tab line as Textual's tabs draw it unfocused, the first tab active, in one widget.

    The first frame shows it: the tabs are a dozen widgets to style and lay out (about 20 ms
    of the ~290 ms of CPU the first screen took). DetailPane puts the real tabs in its place
    right after, in one repaint, and they look the same (tests/tui/test_first_frame.py
    compares them cell by cell)."""

    DEFAULT_CSS = """
    TabsPreview { height: 2; }
    TabsPreview > .tabs-preview--tab { color: $foreground 50%; }
    TabsPreview > .tabs-preview--active { color: $foreground; }
    TabsPreview > .tabs-preview--bar { color: $block-cursor-background; background: $foreground 10%; }
    """
    COMPONENT_CLASSES = {"tabs-preview--tab", "tabs-preview--active", "tabs-preview--bar"}

    def __init__(self, titles: list[str], **kw) -> None:
        super().__init__(**kw)
        self.titles = titles

    def render(self) -> RenderableType:
        plain = self.get_component_rich_style("tabs-preview--tab")
        active = self.get_component_rich_style("tabs-preview--active")
        bar = self.get_component_rich_style("tabs-preview--bar")
        line = Text(no_wrap=True, overflow="crop")
        for i, title in enumerate(self.titles):
            line.append(" ")  # a Tab's padding: 0 1
            line.append(title, style=active if i == 0 else plain)
            line.append(" ")
        return Group(line, Bar(highlight_range=underline_span(self.titles, 0), highlight_style=Style.from_color(bar.color),
                               background_style=Style.from_color(bar.bgcolor)))


def underline_span(titles: list[str], index: int) -> tuple[int, int]:
    """The cells the underline highlights under the tab `index` (its label, not its padding)."""
    start = sum(len(t) + 2 for t in titles[:index]) + 1
    return start, start + len(titles[index])


class DetailPane(Vertical):
    def compose(self) -> ComposeResult:
        yield Static(id="detail-title")
        # The first frame: the tab line drawn by one widget and the evidence, where the
        # TabbedContent (_build_tabs) puts them right after.
        yield TabsPreview(list(TITLES.values()))
        with Vertical(id="detail-first"), VerticalScroll():
            yield Static(id="evidence-first")

    def on_mount(self) -> None:
        self.commands: list[str] = []
        self.node: str | None = None
        self.finding: Finding | None = None
        self._content: dict[str, Any] = {"evidence": "", "yaml": "", "explain": ""}  # the text of each tab
        self._statics: dict[str, Static] = {}  # the tabs' widgets, once made
        self._tabbed: Any = None  # the TabbedContent, once it replaced the preview
        self._want = "evidence"  # the tab to show (until the TabbedContent is there)
        self._focus_commands = False
        self.clear("Enter a host to diagnose it.")
        self.call_after_refresh(self._build_tabs)

    def _build_tabs(self) -> None:
        """Mount the TabbedContent in place of the preview; shown in one repaint, once mounted."""
        if self._statics or not self.is_attached:
            return
        from textual.widgets import TabbedContent, TabPane

        self._statics = {sid: Static(self._content[sid], id=sid) for sid in ("evidence", "yaml", "explain")}
        self._commands_list = NavOptionList(id="commands")
        self._set_commands(self.commands)
        tabs = TabbedContent(id="detail-tabs", initial=f"tab-{self._want}")
        for name, title in TITLES.items():
            body = self._commands_list if name == "commands" else VerticalScroll(self._statics[name])
            tabs.compose_add_child(TabPane(title, body, id=f"tab-{name}"))
        first = [self.query_one(TabsPreview), self.query_one("#detail-first")]
        # No repaint until the tabs are whole: a half-made TabbedContent never shows.
        batch = self.app.batch_update()
        batch.__enter__()
        mounted = self.mount(tabs, before=first[0])

        async def swap() -> None:
            try:
                await mounted
                if self._want != (tabs.active or "").removeprefix("tab-"):
                    tabs.active = f"tab-{self._want}"  # a key pressed meanwhile
                # Where the tabs put their underline only after the next repaint: the preview's
                # already. (Looked up by name: if a Textual version has none, it just comes later.)
                start, end = underline_span(list(TITLES.values()), list(TITLES).index(self._want))
                for underline in tabs.query("Underline"):
                    underline.highlight_start, underline.highlight_end = start, end  # type: ignore[attr-defined]
                for w in first:
                    w.display = False
                self._tabbed = tabs
                if self._focus_commands:
                    self._commands_list.focus()
            finally:
                batch.__exit__(None, None, None)
            await self.remove_children(first)

        self.call_next(swap)

    def _update(self, sid: str, content: Any) -> None:
        self._content[sid] = content
        if self._statics:
            self._statics[sid].update(content)
        elif sid == "evidence":
            self.query_one("#evidence-first", Static).update(content)

    # -- public

    def set_tab(self, name: str) -> None:
        self._want = name
        if self._tabbed is not None:
            self._tabbed.active = f"tab-{name}"
        else:
            self._build_tabs()  # a key pressed before the first frame was drawn: shown once mounted
        self._draw(name)

    @property
    def tab(self) -> str:
        if self._tabbed is None:
            return self._want
        return (self._tabbed.active or "tab-evidence").removeprefix("tab-")

    def focus_commands(self) -> None:
        """Focus the commands list (once it is mounted, if it is not yet)."""
        if self._tabbed is not None:
            self._commands_list.focus()
        else:
            self._focus_commands = True

    def selected_command(self) -> str | None:
        if not self.commands:
            return None
        ol = self._commands_list if self._statics else None
        i = ol.highlighted if ol is not None and ol.highlighted is not None else 0
        return self.commands[i] if 0 <= i < len(self.commands) else None

    def clear(self, message: str) -> None:
        self.node, self.finding = None, None
        self._view = None
        self.query_one("#detail-title", Static).update(Text(message, style="dim"))
        for sid in ("evidence", "yaml", "explain"):
            self._update(sid, "")
        self._set_commands([])

    def show(self, ev: Evidence, d: Diagnosis, node: str | None, finding: Finding | None, running: str | None) -> None:
        self.node, self.finding = node, finding
        self._view = (ev, d, node, running)
        self._drawn: set[str] = set()
        if node is None:
            self._overview(d)
            return
        result = d.node(node)
        on_node = [f for f in d.findings if f.node == node]
        if finding is None and on_node:
            self.finding = on_node[0]
        title = Text()
        title.append(node, style="bold")
        if running:
            title.append(f"  {running}", style="italic cyan")
        elif result is not None:
            title.append(f"  {STATUS_WORD[result.status]}", style=STATUS_STYLE[result.status])
        self.query_one("#detail-title", Static).update(title)
        # The commands are small and `c` copies from them on any tab.
        from edgedoctor.tui import objects  # not for the first frame: it shows the overview

        refs = objects.node_refs(d, node)
        cmds: list[str] = []
        ordered = ([self.finding] if self.finding else []) + [f for f in on_node if f is not self.finding]
        for f in ordered:
            cmds += [c for c in f.commands if c not in cmds]
        present = [r for r in refs if objects.find_object(ev, r) is not None]
        cmds += [c for c in objects.object_commands(present) if c not in cmds]
        self._set_commands(cmds)
        self._draw(self.tab)

    def _draw(self, tab: str) -> None:
        """Fill one tab; the others wait until they are shown (the first screen stays fast)."""
        view = getattr(self, "_view", None)
        if view is None or tab in self._drawn or tab == "commands":
            return
        ev, d, node, running = view
        if node is None and tab != "explain":
            return  # the overview wrote them
        self._drawn.add(tab)
        if tab == "evidence":
            on_node = [f for f in d.findings if f.node == node]
            self._update("evidence", self._evidence(d, node, on_node, running))
        elif tab == "yaml":
            from edgedoctor.tui import objects

            self._update("yaml", self._yaml(node, objects.node_objects(ev, d, node)))
        elif tab == "explain":
            self._update("explain", self._explain(self.finding, node))

    def on_tabbed_content_tab_activated(self, event: Any) -> None:
        # TabbedContent.TabActivated, by its handler's name: textual's tabs load after the first frame.
        self._draw(self.tab)

    # -- the tabs

    def _overview(self, d: Diagnosis) -> None:
        self.query_one("#detail-title", Static).update(Text(d.host, style="bold"))
        t = Text()
        counts: dict[str, int] = {}
        for n in d.tree:
            counts[n.status] = counts.get(n.status, 0) + 1
        t.append("nodes: ", style="dim")
        t.append(", ".join(f"{v} {STATUS_WORD[k]}" for k, v in counts.items()) + "\n")
        t.append("findings: ", style="dim")
        t.append(f"{len(d.findings)}\n\n")
        t.append("Select a node in the tree (↑/↓) or a finding below.", style="dim")
        self._update("evidence", t)
        self._update("yaml", Text("Select a node to see its object.", style="dim"))
        root = d.findings[0] if d.root_cause and d.findings else None
        self.finding = root
        self._set_commands(list(root.commands) if root else [])
        # The root cause's catalog page when its tab is shown: the catalog is YAML to load.
        self._draw(self.tab)

    def _evidence(self, d: Diagnosis, node: str, on_node: list[Finding], running: str | None) -> Group:
        parts: list = []
        result = d.node(node)
        if running:
            parts.append(Text(f"{running}: the result shown is from the cluster objects only.\n", style="italic cyan"))
        if result is not None:
            parts.append(Text(" ".join(result.summary.split()) + "\n"))
            if result.details:
                parts.append(Text("details:", style="dim"))
                parts.append(Text(indent(yaml_block(result.details)) + "\n"))
        root_code = d.root_cause["code"] if d.root_cause else None
        if on_node:
            parts.append(Text(f"findings on {node}:", style="bold"))
            for f in on_node:
                parts.append(finding_text(f, root=f.code == root_code))
        else:
            parts.append(Text(f"no finding on {node}", style="dim"))
        return Group(*parts)

    def _yaml(self, node: str, refs_objs: list) -> Group | Text:
        if not refs_objs:
            if node in PROBE_NODES:
                return Text(f"{node} is probed from outside the cluster: no object of its own.", style="dim")
            return Text(f"no cluster object is named by {node}.", style="dim")
        from edgedoctor.tui import objects

        parts: list = []
        for ref, obj in refs_objs:
            parts.append(Text(f"# {objects.ref_text(ref)}", style="bold"))
            if obj is None:
                parts.append(Text("  not in the evidence (it does not exist, or was not read)\n", style="dim"))
                continue
            from rich.syntax import Syntax  # pygments loads only when YAML is shown

            parts.append(Syntax(objects.to_yaml(obj), "yaml", theme="ansi_dark", background_color="default", word_wrap=True))
        return Group(*parts)

    def _set_commands(self, cmds: list[str]) -> None:
        self.commands = cmds
        if not self._statics:
            return  # listed when the tab gets its widgets
        ol = self._commands_list
        ol.clear_options()
        if cmds:
            ol.add_options([Option(Text("$ " + c), id=f"cmd-{i}") for i, c in enumerate(cmds)])
            ol.highlighted = 0

    def _explain(self, f: Finding | None, node: str | None) -> Text:
        if f is None:
            where = f" on {node}" if node else ""
            return Text(f"no finding{where}: nothing to explain. `edgedoctor checks` lists the catalog.", style="dim")
        try:
            e = catalog.entry(f.code)
        except catalog.UnknownCode:
            return Text(f"{f.code}: no catalog entry.", style="dim")
        t = Text()
        t.append(f"{e['code']}: {e.get('title', '')}\n", style="bold")
        t.append("category: ", style="dim")
        t.append(category_words(e.get("category")))
        t.append("   default severity: ", style="dim")
        t.append(f"{e.get('severity')}\n\n")
        t.append(" ".join(str(e.get("summary", "")).split()) + "\n\n")
        for label, key in (("Why it happens", "why"), ("Remedy", "remedy")):
            # Reflowed: the widget wraps to its width (the catalog's line breaks are for the YAML).
            body = reflow(str(e.get(key) or ""))
            if body:
                t.append(f"{label}:\n", style="bold")
                t.append(indent(body) + "\n\n")
        if e.get("signals"):
            t.append("What edgedoctor looks at:\n", style="bold")
            t.append("\n".join(f"  - {s}" for s in e["signals"]) + "\n\n")
        if e.get("playbooks"):
            t.append("Playbooks: ", style="bold")
            t.append(", ".join(e["playbooks"]) + "\n\n", style="cyan")
        if e.get("references"):
            t.append("References:\n", style="bold")
            t.append("\n".join(f"  - {r}" for r in e["references"]) + "\n")
        return t
