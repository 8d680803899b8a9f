"""`edgedoctor tui [HOST]` (and `edgedoctor` alone on a terminal): starts the TUI.

Only this subcommand imports `edgedoctor.tui` (and through it Textual).
"""

from __future__ import annotations

import argparse

from edgedoctor.cli.common import err


def cmd_tui(args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec("textual") is None:
        return err("the TUI needs textual, which is not installed: pip install 'textual>=8,<9'")
    from edgedoctor.tui.launch import run_tui

    return run_tui(args)
