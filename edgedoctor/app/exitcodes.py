"""The one mapping from a verdict to an exit code (the monitoring-plugin convention).

`check`, `record`, `fix` and `tui` all exit with these; 3 is also every input error.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_WARNING = 1
EXIT_CRITICAL = 2
# The state could not be established: bad input, unreadable evidence, a refused change.
EXIT_UNKNOWN = 3

_BY_VERDICT = {"ok": EXIT_OK, "warning": EXIT_WARNING, "critical": EXIT_CRITICAL, "unknown": EXIT_UNKNOWN}


def exit_code(verdict: str) -> int:
    """The exit code of a verdict; anything that is not a verdict is UNKNOWN."""
    return _BY_VERDICT.get(verdict, EXIT_UNKNOWN)
