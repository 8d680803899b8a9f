"""The fleet screen: every host of a sweep (edgedoctor.fleet.sweep), grouped by verdict
then by Gateway, filled in as each host's result arrives. Enter opens the host's
diagnosis screen (its tree and walkthroughs, as `edgedoctor tui HOST`), Esc comes back.

The sweep runs in a thread worker and reports each host as soon as it is diagnosed
(from the sweep's own worker threads, in any order), so a slow host never holds the others.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from edgedoctor.collect import EvidenceError
from edgedoctor.fleet.summary import groups
from edgedoctor.fleet.sweep import VERDICT_RANK, HostRecord, HostResult
from edgedoctor.tui.screens.main import MainScreen
from edgedoctor.tui.screens.sizes import NARROW, SHORT
from edgedoctor.tui.widgets.hostinput import HostInput
from edgedoctor.tui.widgets.keys import KeysBar

if TYPE_CHECKING:
    from edgedoctor.tui.fleetrun import FleetSource
    from edgedoctor.tui.history import History

# The keys of this screen, most important first (the keys line keeps what fits).
KEYS = (
    ("enter", "open host"), ("/", "filter"), ("s", "sort"), ("ctrl+r", "re-sweep"), ("?", "help"),
    ("h", "type a host"), ("q", "quit"), ("j/k", "move"), ("esc", "clear filter"),
)
SORTS = ("host", "code", "days left", "slowest")
VERDICT_STYLE = {"critical": "bold red", "unknown": "bold magenta", "warning": "bold yellow", "ok": "green"}
NO_GATEWAY = "(no Gateway)"


class HostArrived(Message):
    def __init__(self, generation: int, result: HostResult) -> None:
        super().__init__()
        self.generation = generation
        self.result = result


class SweepStarted(Message):
    """The clusters were read: which contexts, and why any could not be."""

    def __init__(self, generation: int, contexts: list[Any]) -> None:
        super().__init__()
        self.generation = generation
        self.contexts = contexts


class SweepEnded(Message):
    def __init__(self, generation: int, error: str | None) -> None:
        super().__init__()
        self.generation = generation
        self.error = error


def _key(context: str | None, host: str) -> str:
    return f"{context or ''}\t{host}"


def _sort_key(how: str, r: HostRecord) -> tuple:
    if how == "code":
        return (r.code or "~", r.host)
    if how == "days left":
        days = r.days_left
        return (days if days is not None else float("inf"), r.host)
    if how == "slowest":
        return (-r.duration, r.host)
    return (r.host, r.context or "")


def matches(r: HostRecord, text: str) -> bool:
    """Every word of the filter is in the host, context, Gateway, verdict, category or code."""
    hay = " ".join(str(x) for x in (r.host, r.context, r.gateway, r.verdict, r.category, r.code) if x).lower()
    return all(w in hay for w in text.lower().split())


def grouped(records: list[HostRecord], sort: str) -> list[tuple[str, str, list[HostRecord]]]:
    """(verdict, Gateway, hosts): worst verdict first, then Gateway name, hosts by `sort`."""
    by: dict[tuple[str, str], list[HostRecord]] = {}
    for r in records:
        by.setdefault((r.verdict, r.gateway or NO_GATEWAY), []).append(r)
    order = sorted(by, key=lambda k: (-VERDICT_RANK.get(k[0], 0), k[1] == NO_GATEWAY, k[1]))
    return [(v, gw, sorted(by[(v, gw)], key=lambda r: _sort_key(sort, r))) for v, gw in order]


class FleetHostScreen(MainScreen):
    """One host opened from the fleet: the diagnosis screen, and Esc goes back to the fleet."""

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display or (self.focused is self.query_one(HostInput) and self.diagnosis is not None):
            super().action_back()
            return
        if getattr(self.app, "main_screen", None) is self:
            self.app.main_screen = None
        self.app.pop_screen()


class FleetScreen(Screen):
    DEFAULT_CSS = """
    FleetScreen { layout: vertical; }
    FleetScreen #fleet-header { height: 1; background: $panel; }
    FleetScreen #fleet-status { height: auto; max-height: 6; padding: 0 1; }
    FleetScreen #fleet { height: 1fr; }
    FleetScreen #fleet-filter { height: 3; }
    FleetScreen #keys { height: 1; dock: bottom; }
    FleetScreen.-short #fleet-status { max-height: 3; padding: 0; }
    FleetScreen.-short #fleet-filter { height: 1; border: none; }
    """
    BINDINGS = [
        Binding("slash", "filter", "Filter"),
        Binding("escape", "back", "Back"),
        Binding("ctrl+r", "resweep", "Re-sweep"),
        Binding("s", "sort", "Sort"),
        Binding("h", "type_host", "Host", show=False),
        Binding("j", "move(1)", "Down", show=False),
        Binding("k", "move(-1)", "Up", show=False),
    ]

    def __init__(self, source: FleetSource, history: History) -> None:
        super().__init__()
        self.source = source
        self.history = history
        self.generation = 0
        self.results: dict[str, HostResult] = {}
        self.records: dict[str, HostRecord] = {}
        self.contexts: list[Any] = []
        self.sweeping = False
        self.error: str | None = None
        self.sort = SORTS[0]
        self.filter_text = ""
        self._stop: threading.Event | None = None
        self._scheduled = False
        self._chosen: str | None = None
        self._placed: str | None = None

    def compose(self) -> ComposeResult:
        width, height = self.app.size
        self.set_class(width < NARROW, "-narrow", update=False)
        self.set_class(height < SHORT, "-short", update=False)
        yield Static(id="fleet-header")
        yield Static(id="fleet-status")
        table: DataTable = DataTable(id="fleet", cursor_type="row", zebra_stripes=False)
        yield table
        yield Input(placeholder="filter hosts by host, context, Gateway, verdict or code (Enter keeps, Esc clears)",
                    id="fleet-filter")
        yield KeysBar(KEYS, id="keys")

    def on_mount(self) -> None:
        box = self.query_one("#fleet-filter", Input)
        box.cursor_blink = False
        box.display = False
        self.query_one(DataTable).focus()
        self.start_sweep()

    def on_unmount(self) -> None:
        if self._stop is not None:
            self._stop.set()  # quitting: the hosts not started yet are not probed

    def on_resize(self, event) -> None:
        self.set_class(event.size.width < NARROW, "-narrow")
        self.set_class(event.size.height < SHORT, "-short")
        self._rebuild()

    # -- the sweep

    def start_sweep(self) -> None:
        if self._stop is not None:
            self._stop.set()  # the previous sweep's hosts not started yet are dropped
        self.generation += 1
        self._stop = threading.Event()
        self.results.clear()
        self.records.clear()
        self.contexts = []
        self.error = None
        self.sweeping = True
        self._rebuild()
        self.run_sweep(self.generation, self._stop)

    @work(thread=True, group="sweep")
    def run_sweep(self, generation: int, stop: threading.Event) -> None:
        try:
            run = self.source.start()
            self.post_message(SweepStarted(generation, list(run.contexts)))
            # Each host as it is diagnosed (the sweep's probe threads call back in any order).
            run.collect(on_host=lambda r: self.post_message(HostArrived(generation, r)), stop=stop)
        except EvidenceError as e:
            self.post_message(SweepEnded(generation, str(e)))
            return
        except Exception as e:  # a bug in a reader must be a line on screen, not a dead worker
            self.post_message(SweepEnded(generation, f"the sweep failed: {type(e).__name__}: {e}"))
            return
        self.post_message(SweepEnded(generation, None))

    @on(SweepStarted)
    def _started(self, msg: SweepStarted) -> None:
        if msg.generation == self.generation:
            self.contexts = msg.contexts
            self._schedule()

    @on(HostArrived)
    def _arrived(self, msg: HostArrived) -> None:
        if msg.generation != self.generation:
            return
        r = msg.result
        key = _key(r.context, r.host)
        self.results[key] = r
        self.records[key] = HostRecord.of(r)
        self._schedule()

    @on(SweepEnded)
    def _ended(self, msg: SweepEnded) -> None:
        if msg.generation != self.generation:
            return
        self.sweeping = False
        self.error = msg.error
        self._rebuild()

    def _schedule(self) -> None:
        """One redraw for the hosts that arrived together (a sweep of 500 hosts is not 500 redraws)."""
        if not self._scheduled:
            self._scheduled = True
            self.call_later(self._rebuild)

    # -- drawing

    def visible(self) -> list[HostRecord]:
        return [r for r in self.records.values() if not self.filter_text or matches(r, self.filter_text)]

    def _rebuild(self) -> None:
        self._scheduled = False
        if not self.is_mounted:
            return
        self._header()
        self._status()
        table = self.query_one(DataTable)
        narrow = self.size.width < NARROW if self.size.width else self.app.size.width < NARROW
        many = len({r.context for r in self.records.values()}) > 1 or len(self.contexts) > 1
        table.clear(columns=True)
        cols = ["host"] + (["context"] if many and not narrow else []) + ["code", "days"]
        if not narrow:
            cols.append("summary")
        for c in cols:
            table.add_column(c, key=c)
        width = self.size.width or self.app.size.width
        hosts = self.visible()
        host_w = max((len(r.host) for r in hosts), default=4)
        ctx_w = max((len(r.context or "-") for r in hosts), default=1) if "context" in cols else 0
        code_w = max((len(r.code or "-") for r in hosts), default=4)
        room = max(16, width - host_w - ctx_w - code_w - 4 - 12)
        rows: list[tuple[str, str]] = []
        for verdict, gw, members in grouped(hosts, self.sort):
            label = Text(f"{verdict.upper()} · {gw} · {len(members)} host{'s' if len(members) != 1 else ''}",
                         style=VERDICT_STYLE.get(verdict, "bold"))
            gkey = f"group\t{verdict}\t{gw}"
            table.add_row(label, *[""] * (len(cols) - 1), key=gkey)
            rows.append((gkey, "group"))
            for r in members:
                cells: list[Any] = [Text("  " + r.host, style=VERDICT_STYLE.get(r.verdict, ""))]
                if "context" in cols:
                    cells.append(r.context or "-")
                cells.append(r.code or "-")
                days = r.days_left
                cells.append(f"{days:.0f}" if days is not None else "-")
                if "summary" in cols:
                    line = (r.message or r.title or "").splitlines()[0] if (r.message or r.title) else ""
                    cells.append(line if len(line) <= room else line[: room - 1] + "…")
                k = _key(r.context, r.host)
                table.add_row(*cells, key=k)
                rows.append((k, "host"))
        if not rows:
            return
        keys = [k for k, _ in rows]
        # The host the user moved to stays selected while results fill in; else the first host.
        target = self._chosen if self._chosen in keys else next((k for k, kind in rows if kind == "host"), keys[0])
        self._placed = target
        table.move_cursor(row=keys.index(target), animate=False)

    @on(DataTable.RowHighlighted, "#fleet")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value if event.row_key is not None else None
        if key in self.records and key != self._placed:
            self._chosen = key  # moved by the user, not by a redraw

    def _header(self) -> None:
        t = Text()
        t.append(" edgedoctor ", style="bold reverse")
        base = self.source.checker.base
        if base.replay:
            import os

            src = f"replay ({os.path.basename(base.replay)})"
        elif base.snapshots:
            src = "snapshot"
        else:
            src = "live" if not base.offline else "live, offline"
        unnamed = "(current)" if src.startswith("live") else "-"  # a snapshot has no context unless --context names it
        names = ", ".join(c.context or unnamed for c in self.contexts) or (base.context or unnamed)
        for label, value in (("fleet", names), ("source", src), ("sort", self.sort)):
            t.append(f"  {label}: ", style="dim")
            t.append(value, style="bold")
        if self.filter_text:
            t.append("  filter: ", style="dim")
            t.append(self.filter_text, style="bold")
        self.query_one("#fleet-header", Static).update(t)

    def _status(self) -> None:
        recs = list(self.records.values())
        t = Text()
        if self.error:
            t.append(self.error, style="bold red")
        else:
            counts = {v: sum(1 for r in recs if r.verdict == v) for v in ("critical", "unknown", "warning", "ok")}
            t.append(f"{len(recs)} host{'s' if len(recs) != 1 else ''}", style="bold")
            for v, n in counts.items():
                if n:
                    t.append(f"  {n} {v}", style=VERDICT_STYLE[v])
            if self.sweeping:
                t.append("  sweeping… (results fill in as they arrive)", style="dim italic")
            elif self.filter_text:
                t.append(f"  ({len(self.visible())} shown)", style="dim")
        for c in self.contexts:
            for why in c.unknown_reasons:
                t.append(f"\ncontext {c.context or '(current)'}: {why}", style="yellow")
        if not self.sweeping and not self.error and not recs and not any(c.unknown_reasons for c in self.contexts):
            t.append("\nno host: no HTTPRoute, GRPCRoute or listener of this cluster names a hostname "
                     "(`edgedoctor tui HOST` checks one host)", style="dim")
        for g in groups(recs):
            where = f"{g['context']}/" if g.get("context") and len(self.contexts) > 1 else ""
            t.append(f"\nGateway {where}{g['gateway']}: {len(g['hosts'])} of {g['gateway_hosts']} hosts {g['code']}",
                     style=VERDICT_STYLE.get(g["verdict"], "bold"))
            if g.get("title"):
                t.append(f" — {g['title']}")
        self.query_one("#fleet-status", Static).update(t)

    # -- opening a host

    @on(DataTable.RowSelected, "#fleet")
    def _selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key in self.results:
            self.open_host(key)

    def selected_key(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def open_host(self, key: str) -> None:
        r = self.results[key]
        checker = self.source.host_checker(r)
        screen = FleetHostScreen(checker, self.history, r.host, initial=(r.evidence, r.diagnosis))
        self.app.main_screen = screen  # the palette's re-check, playbooks and recording act on it
        self.app.push_screen(screen)

    def action_type_host(self) -> None:
        """Any host, as `edgedoctor tui` without a fleet: the host screen with its input focused."""
        screen = FleetHostScreen(self.source.checker, self.history, None)
        self.app.main_screen = screen
        self.app.push_screen(screen)

    # -- actions

    def action_move(self, step: int) -> None:
        table = self.query_one(DataTable)
        if step > 0:
            table.action_cursor_down()
        else:
            table.action_cursor_up()

    def action_filter(self) -> None:
        box = self.query_one("#fleet-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#fleet-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self._rebuild()

    @on(Input.Submitted, "#fleet-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        box = self.query_one("#fleet-filter", Input)
        box.display = bool(self.filter_text)
        self.query_one(DataTable).focus()

    def action_back(self) -> None:
        """Esc: clear the filter."""
        box = self.query_one("#fleet-filter", Input)
        if box.display or self.filter_text:
            box.value = ""
            self.filter_text = ""
            box.display = False
            self.query_one(DataTable).focus()
            self._rebuild()

    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._rebuild()
        self.notify(f"sorted by {self.sort} within each group", timeout=2)

    def action_resweep(self) -> None:
        self.start_sweep()
