"""What every subcommand module of the CLI shares."""

from __future__ import annotations

import sys

from edgedoctor.app.exitcodes import EXIT_UNKNOWN


def err(msg: str) -> int:
    """One line on stderr for the user; the exit code of every input error."""
    print(f"edgedoctor: {msg}", file=sys.stderr)
    return EXIT_UNKNOWN
