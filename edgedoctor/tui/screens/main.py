"""The diagnosis screen: header, host input, verdict, tree, detail pane, findings."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.events import ScreenResume
from textual.screen import Screen
from textual.widgets import DataTable, Input, Label, OptionList, Static, Tree
from textual.worker import get_current_worker

from edgedoctor.collect import EvidenceError
from edgedoctor.evidence import Evidence
from edgedoctor.model import Diagnosis, Finding
from edgedoctor.tui.messages import CheckFailed, ClusterRead, DiagnosisChanged, ProbesDone
from edgedoctor.tui.screens.sizes import NARROW, SHORT
from edgedoctor.tui.session import PROBE_NODES, Checker
from edgedoctor.tui.widgets.detail import DetailPane
from edgedoctor.tui.widgets.findings import FindingsTable
from edgedoctor.tui.widgets.header import HeaderBar
from edgedoctor.tui.widgets.hostinput import HostInput
from edgedoctor.tui.widgets.keys import KeysBar
from edgedoctor.tui.widgets.tree import DiagnosisTree
from edgedoctor.tui.widgets.verdict import VerdictBanner

if TYPE_CHECKING:
    from edgedoctor.tui.history import History

PROBING = "probing…"
# The keys of this screen, most important first (the keys line keeps what fits).
KEYS = (
    ("?", "help"), ("q", "quit"), ("enter", "open/walk"), ("c", "copy cmd"), ("/", "filter"),
    (":", "commands"), ("p", "playbook"), ("ctrl+r", "re-run"), ("d", "evidence"), ("x", "explain"),
    ("y", "YAML"), ("j/k", "move"), ("h", "host"), ("esc", "back"),
)
READING = "reading the cluster…"


class MainScreen(Screen):
    BINDINGS = [
        Binding("slash", "filter", "Filter"),
        Binding("escape", "back", "Back"),
        Binding("ctrl+r", "recheck", "Re-run"),
        Binding("d", "tab('evidence')", "Evidence"),
        Binding("y", "tab('yaml')", "YAML"),
        Binding("x", "tab('explain')", "Explain"),
        Binding("c", "copy", "Copy cmd"),
        Binding("p", "playbook", "Playbook"),
        Binding("h", "focus_host", "Host", show=False),
    ]

    def __init__(self, checker: Checker, history: History, host: str | None = None,
                 initial: tuple[Evidence, Diagnosis] | None = None) -> None:
        super().__init__()
        self._initial = initial
        self.checker = checker
        self.history = history
        self.host: str | None = host
        self.ev: Evidence | None = None
        self.diagnosis: Diagnosis | None = None
        self.generation = 0
        self.probing = False
        self.error: str | None = None
        self._pointed = -1
        self._resumed = False

    def compose(self) -> ComposeResult:
        # The size classes before anything is styled: set after mount, they restyle the
        # whole screen once more (a quarter of the first screen's time at 80x24).
        width, height = self.app.size
        self.set_class(width < NARROW, "-narrow", update=False)
        self.set_class(height < SHORT, "-short", update=False)
        yield HeaderBar(id="header")
        with Horizontal(id="hostbar"):
            yield Label("Host ", id="host-label")
            yield HostInput(self.history, id="host", value=self.host or "")
        yield Static(id="host-error")
        banner = VerdictBanner(id="verdict")
        banner.compact = height < SHORT
        yield banner
        with Horizontal(id="body"):
            yield DiagnosisTree(id="tree")
            yield DetailPane(id="detail")
        yield Static(id="findings-title")
        yield FindingsTable(id="findings")
        yield KeysBar(KEYS, id="keys")

    def on_resize(self, event) -> None:
        self._layout(event.size.width, event.size.height)

    def on_screen_resume(self, event: ScreenResume) -> None:
        # Runs before Screen's own handler. Every widget was styled as it was mounted, a
        # moment ago, and a class or focus change restyles what it touches: restyling them
        # all again on the first resume would only repeat that (a thirtieth of the first
        # screen's time). A screen shown again (after a walkthrough) is restyled as usual.
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False

    def _layout(self, width: int, height: int) -> None:
        """Lay out by size: side by side and roomy on a large terminal; on a small one (80x24,
        as htop and k9s) one-line header and banner, stacked panes without borders."""
        narrow, short = width < NARROW, height < SHORT
        self.set_class(narrow, "-narrow")
        self.set_class(short, "-short")
        self.query_one(VerdictBanner).set_compact(short)
        # Keep the selection on screen once the new size is laid out.
        self.call_after_refresh(self.query_one(DiagnosisTree).keep_cursor_visible)

    def on_mount(self) -> None:
        self.call_after_refresh(self._filter_box_later)  # hidden until `/`: not part of the first frame
        self.query_one("#host-error").display = False
        self._spinner = self.set_interval(0.1, self._tick, pause=True)
        self._header()
        self._findings_title()
        if self.host and self._initial is not None and self._initial[0].host == self.host:
            # Diagnosed before the app started (a replay): show it in the first frame.
            ev, d = self._initial
            self._initial = None
            self.generation += 1
            self._show(ev, d)
            self._header()
            self.query_one(DiagnosisTree).focus()
        elif self.host:
            self.start_check(self.host)
            self.query_one(DiagnosisTree).focus()
        else:
            self.query_one(VerdictBanner).idle("Type a hostname and press Enter.")
            self.query_one(HostInput).focus()

    # -- running checks

    def start_check(self, host: str) -> None:
        self.host = host
        self.error = None
        self.generation += 1
        self.probing = False
        self.query_one(VerdictBanner).running(host, READING)
        self.query_one(DiagnosisTree).start(host, READING)
        self.query_one(FindingsTable).show([])
        self.query_one(DetailPane).clear(f"checking {host}…")
        self._findings_title()
        self._header()
        self._spinner.resume()
        self.run_check(host, self.generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="check")
    def run_check(self, host: str, generation: int) -> None:
        worker = get_current_worker()
        checker = self.checker
        run = None
        try:
            # The host's own probes need nothing from the cluster: they start first.
            run = checker.begin_probes(host)
            ev = checker.read_cluster(host)
            d = checker.diagnose(ev, run)
        except EvidenceError as e:
            self._fail(generation, checker.tidy(str(e)), run)
            return
        except Exception as e:  # never a dead worker: say what broke
            self._fail(generation, f"internal error: {type(e).__name__}: {e}", run)
            return
        probing = checker.will_probe
        self.post_message(ClusterRead(generation, ev, d, probing))
        if not probing or worker.is_cancelled:
            if run is not None:
                run.cancel()
            return
        # The screen keeps showing `ev`; the probes fill a copy.
        ev2 = dataclasses.replace(ev, options=dict(ev.options))
        try:
            ev2 = checker.probe(ev2, run)
            d2 = checker.diagnose(ev2)
        except EvidenceError as e:
            self.post_message(CheckFailed(generation, f"probes: {checker.tidy(str(e))}"))
            return
        except Exception as e:
            self.post_message(CheckFailed(generation, f"probes: internal error: {type(e).__name__}: {e}"))
            return
        if not worker.is_cancelled:
            self.post_message(ProbesDone(generation, ev2, d2))

    def _fail(self, generation: int, message: str, run) -> None:
        if run is not None:
            run.cancel()
        self.post_message(CheckFailed(generation, message))

    @on(ClusterRead)
    def _cluster_read(self, msg: ClusterRead) -> None:
        if msg.generation != self.generation:
            return
        self.probing = msg.probing
        self._show(msg.ev, msg.diagnosis)

    @on(ProbesDone)
    def _probes_done(self, msg: ProbesDone) -> None:
        if msg.generation != self.generation:
            return
        self.probing = False
        self._show(msg.ev, msg.diagnosis)

    @on(CheckFailed)
    def _check_failed(self, msg: CheckFailed) -> None:
        if msg.generation != self.generation:
            return
        self.error = msg.message
        if self.probing and self.diagnosis is not None:
            # The cluster part stands; only the probes are missing.
            self.probing = False
            self._show(self.ev, self.diagnosis)
            self.notify(msg.message, title="probes failed", severity="error")
            return
        self._spinner.pause()
        self.ev, self.diagnosis = None, None
        self.query_one(VerdictBanner).error(self.host, msg.message)
        self.query_one(DiagnosisTree).failed(self.host)
        self.query_one(FindingsTable).show([])
        self.query_one(DetailPane).clear("no evidence")
        self._findings_title()
        self._header()

    @on(DiagnosisChanged)
    def _diagnosis_changed(self, msg: DiagnosisChanged) -> None:
        self.generation += 1  # a check still running is older than this
        self.probing = False
        self._show(msg.ev, msg.diagnosis)

    def _running_nodes(self) -> dict[str, str]:
        return {n: PROBING for n in PROBE_NODES} if self.probing else {}

    def _show(self, ev: Evidence | None, d: Diagnosis | None) -> None:
        if ev is None or d is None:
            return
        self.ev, self.diagnosis = ev, d
        running = self._running_nodes()
        self.query_one(VerdictBanner).show(d, self.probing)
        self.query_one(DiagnosisTree).show(d, running)
        self.query_one(FindingsTable).show(d.findings)
        self.call_after_refresh(self._count_offers, self.generation, d)
        if self._pointed != self.generation and d.root_cause and d.findings:
            # A new check opens on the root cause's node.
            self.query_one(DiagnosisTree).move_to(d.findings[0].node)
        self._pointed = self.generation
        self._findings_title()
        self._header()
        self._refresh_detail()
        if running:
            self._spinner.resume()
        else:
            self._spinner.pause()

    def _tick(self) -> None:
        self.query_one(DiagnosisTree).tick()

    def _header(self) -> None:
        self.query_one(HeaderBar).show(
            self.checker.source(self.ev), self.host, self.ev.now if self.ev else None, self.checker.read_only
        )

    def _findings_title(self) -> None:
        table = self.query_one(FindingsTable)
        n, shown = len(table.findings), len(table.shown)
        text = f"Findings ({n})" if shown == n else f"Findings ({shown} of {n}, filter '{table.filter_text}')"
        if self.diagnosis is not None and not n:
            text += "  none"
        self.query_one("#findings-title", Static).update(text)

    # -- selection

    def _refresh_detail(self, finding: Finding | None = None) -> None:
        if self.ev is None or self.diagnosis is None:
            return
        tree = self.query_one(DiagnosisTree)
        node = tree.cursor_node.data if tree.cursor_node is not None else None
        if finding is not None:
            node = finding.node
        running = self._running_nodes().get(node) if node else None
        self.query_one(DetailPane).show(self.ev, self.diagnosis, node, finding, running)

    @on(Tree.NodeHighlighted, "#tree")
    def _node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        self._refresh_detail()

    @on(Tree.NodeSelected, "#tree")
    def _node_selected(self, event: Tree.NodeSelected) -> None:
        """Enter on a node: its evidence; on a failing node, the walkthrough of its finding."""
        node = event.node.data
        if not node or self.diagnosis is None:
            return
        result = self.diagnosis.node(node)
        on_node = [f for f in self.diagnosis.findings if f.node == node and f.severity != "info"]
        if result is not None and result.status in ("fail", "warn") and on_node:
            self.open_finding(on_node[0])
            return
        self.query_one(DetailPane).set_tab("evidence")

    @on(DataTable.RowHighlighted, "#findings")
    def _finding_highlighted(self, event: DataTable.RowHighlighted) -> None:
        f = self.query_one(FindingsTable).finding(str(event.row_key.value))
        if f is not None:
            self._refresh_detail(f)

    @on(DataTable.RowSelected, "#findings")
    def _finding_selected(self, event: DataTable.RowSelected) -> None:
        f = self.query_one(FindingsTable).finding(str(event.row_key.value))
        if f is not None:
            self.open_finding(f)

    @on(OptionList.OptionSelected, "#commands")
    def _command_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_copy()

    # -- input

    @on(Input.Submitted, "#host")
    def _host_submitted(self, event: Input.Submitted) -> None:
        from edgedoctor.hostname import HostnameError, normalize_host

        err = self.query_one("#host-error", Static)
        try:
            host = normalize_host(event.value)
        except HostnameError as e:
            err.update(f"not a hostname: {e}")
            err.display = True
            return
        err.display = False
        self.history.add(host)
        self.query_one(HostInput).value = host
        self.start_check(host)
        self.query_one(DiagnosisTree).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_one(DiagnosisTree).set_filter(event.value)
        self.query_one(FindingsTable).set_filter(event.value)
        self._findings_title()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.query_one("#filter").display = False
        self.query_one(FindingsTable).focus()

    # -- actions

    def _filter_box_later(self) -> None:
        if self.is_attached:  # not when the app quit at its first frame: no traceback on the way out
            self._filter_box()

    def _filter_box(self) -> Input:
        """The filter input, made on first use."""
        found = self.query("#filter")
        if found:
            return found.first(Input)
        box = Input(placeholder="filter the tree and the findings (Enter keeps it, Esc clears)", id="filter")
        box.cursor_blink = False
        box.display = False
        self.mount(box, before=self.query_one(KeysBar))
        return box

    def action_filter(self) -> None:
        box = self._filter_box()
        box.display = True
        box.focus()

    def action_back(self) -> None:
        """k9s esc: close the filter, or leave the host input for the tree."""
        box = self._filter_box()
        if box.display:
            box.value = ""
            box.display = False
            self.query_one(DiagnosisTree).focus()
            return
        if self.focused is self.query_one(HostInput) and self.diagnosis is not None:
            self.query_one(DiagnosisTree).focus()

    def action_recheck(self) -> None:
        if self.host:
            self.start_check(self.host)
        else:
            self.notify("type a hostname first", severity="warning")

    def action_focus_host(self) -> None:
        self.query_one(HostInput).focus()

    def action_tab(self, name: str) -> None:
        self.query_one(DetailPane).set_tab(name)

    def action_copy(self) -> None:
        pane = self.query_one(DetailPane)
        command = pane.selected_command()
        if command is None:
            self.notify("no command for this node", severity="warning")
            return
        pane.set_tab("commands")
        # Focus the list: the next command is then one ↓ away, and `c` copies it.
        pane.focus_commands()
        self.app.copy_to_clipboard(command)
        self.notify(command, title="copied to the clipboard")

    def action_playbook(self) -> None:
        f = self.query_one(DetailPane).finding if self.focused is not self.query_one(FindingsTable) else None
        f = f or self.query_one(FindingsTable).current
        if f is None:
            self.notify("select a finding first", severity="warning")
            return
        self.open_finding(f)

    def open_finding(self, f: Finding) -> None:
        """Enter/p on a finding: the playbook that applies here, or why none does."""
        offers = self._offers(f)
        offered = [p for p, ok, _ in offers if ok]
        if not offered:
            # Every code gets a walkthrough: the guide made from its catalog entry.
            self.open_guide(f, [(p, reason) for p, ok, reason in offers if not ok])
            return
        if len(offered) == 1:
            self.open_playbook(offered[0], f.code)
            return
        from edgedoctor.tui.screens.modals import PickPlaybook
        from edgedoctor.tui.walk import playbook_title

        def picked(playbook: str | None) -> None:
            if playbook:
                self.open_playbook(playbook, f.code)

        self.app.push_screen(PickPlaybook(f.code, [(p, playbook_title(p)) for p in offered]), picked)

    def open_guide(self, f: Finding, not_offered: list[tuple[str, str]] | None = None) -> None:
        if self.ev is None or self.diagnosis is None:
            self.notify("run a check first: the guide is made from its evidence", severity="warning")
            return
        from edgedoctor.diagnosis.engine import cluster_context, placeholder_values
        from edgedoctor.tui.guide import GuideExecutor, build_guide
        from edgedoctor.tui.screens.walkthrough import WalkthroughScreen

        ev, checker = self.ev, self.checker
        values = placeholder_values(cluster_context(ev), f.category)
        plan = build_guide(f, ev, self.diagnosis, values, not_offered)

        def rediagnose() -> Diagnosis:
            return checker.diagnose(ev) if checker.read_only else checker.full(ev.host)[1]

        self.app.push_screen(WalkthroughScreen(plan, checker, ev, self.diagnosis, f.code,
                                               executor_factory=lambda: GuideExecutor(f, ev, rediagnose)))

    def _count_offers(self, generation: int, d: Diagnosis) -> None:
        """The findings table's playbook counts: what `p` would offer, not the catalog's list."""
        if generation != self.generation or d is not self.diagnosis:
            return  # a newer check is shown
        self.query_one(FindingsTable).set_offered(
            {f.code: sum(1 for _, ok, _ in self._offers(f) if ok) for f in d.findings})

    def _offers(self, f: Finding) -> list[tuple[str, bool, str]]:
        if self.ev is None or self.diagnosis is None:
            return [(p, True, "") for p in f.playbooks]
        from edgedoctor.tui.walk import playbook_offers

        try:
            return playbook_offers(f, self.ev, self.diagnosis)
        except Exception:  # a planner bug must not hide the playbook: the walkthrough says what is wrong
            return [(p, True, "") for p in f.playbooks]

    def open_playbook(self, playbook_id: str, code: str | None = None) -> None:
        if self.ev is None or self.diagnosis is None:
            self.notify("run a check first: a playbook is planned from its evidence", severity="warning")
            return
        from edgedoctor.tui.walk import plan_walkthrough

        try:
            plan = plan_walkthrough(playbook_id, self.ev, self.diagnosis, read_only=self.checker.read_only)
        except Exception as e:  # no remedy package, unknown playbook, bad data
            self.notify(str(e) or type(e).__name__, title=f"cannot open {playbook_id}", severity="error")
            return
        from edgedoctor.tui.screens.walkthrough import WalkthroughScreen

        self.app.push_screen(WalkthroughScreen(plan, self.checker, self.ev, self.diagnosis, code))

    def switch_context(self, name: str) -> None:
        self.checker.switch_context(name)
        self.notify(f"reading live from context {name}", title="context switched")
        self._header()
        if self.host:
            self.start_check(self.host)

    def save_recording(self, path: str) -> None:
        if self.ev is None:
            self.notify("nothing to save yet: run a check first", severity="warning")
            return
        from edgedoctor.recording import RecordingError, write_recording

        path = path.strip()
        if not path:
            return
        try:
            write_recording(path, self.ev)
        except RecordingError as e:
            self.notify(str(e), title="not saved", severity="error")
            return
        self.notify(f"saved {self.ev.host} to {path}", title="recording saved")

    def action_save_recording(self) -> None:
        from edgedoctor.tui.screens.modals import AskPath

        def chosen(path: str | None) -> None:
            if path:
                self.save_recording(path)

        self.app.push_screen(AskPath("Save the evidence as a recording", "path, e.g. app.yaml or app.yaml.gz"), chosen)

    def playbook_choices(self) -> list[tuple[str, str]]:
        """(playbook, code) for the current findings, root cause first."""
        out: list[tuple[str, str]] = []
        for f in self.diagnosis.findings if self.diagnosis else []:
            for p, ok, _ in self._offers(f):
                if ok and p not in [x for x, _ in out]:
                    out.append((p, f.code))
        return out
