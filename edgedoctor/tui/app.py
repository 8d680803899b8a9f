"""The Textual app: the fleet screen or one diagnosis screen, help, walkthroughs and modals on top."""

from __future__ import annotations

import gc
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from edgedoctor.tui.commands import EdgeDoctorCommands
from edgedoctor.tui.history import History
from edgedoctor.tui.screens.main import MainScreen
from edgedoctor.tui.session import Checker


class EdgeDoctorApp(App[int]):
    CSS_PATH = "edgedoctor.tcss"
    TITLE = "edgedoctor"
    COMMANDS = {EdgeDoctorCommands}
    BINDINGS = [
        Binding("q", "quit_app", "Quit"),
        # As in k9s: ctrl+c leaves from any screen (Textual would copy in an input instead).
        Binding("ctrl+c", "quit_app", "Quit", priority=True, show=False),
        Binding("question_mark", "help", "Help"),
        Binding("colon", "command_palette", "Commands"),
    ]

    def __init__(self, checker: Checker, host: str | None = None, history: History | None = None,
                 initial: tuple[Any, Any] | None = None, fleet: Any = None) -> None:
        super().__init__()
        self.checker = checker
        self.history = history or History()
        self.fleet_screen = None
        if fleet is not None:
            from edgedoctor.tui.screens.fleet import FleetScreen

            self.fleet_screen = FleetScreen(fleet, self.history)
            # The host screen in front, while one is open from the fleet (the palette's target).
            self.main_screen: MainScreen | None = None
        else:
            self.main_screen = MainScreen(checker, self.history, host, initial=initial)

    def on_mount(self) -> None:
        self.call_after_refresh(self._first_frame_drawn)

    def on_unmount(self) -> None:
        self._first_frame_drawn()  # quit before it was drawn: the collector runs again all the same

    def _first_frame_drawn(self) -> None:
        # build_app paused the collector for the first screen; what exists now lives
        # as long as the app, so it is kept out of the collector's scans from now on.
        if not gc.isenabled():
            gc.freeze()
            gc.enable()

    def get_default_screen(self) -> Screen:
        return self.fleet_screen or self.main_screen

    def action_help(self) -> None:
        from edgedoctor.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_quit_app(self) -> None:
        self.exit(0)
