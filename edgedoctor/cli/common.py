"""What every subcommand module of the CLI shares."""

from __future__ import annotations

import sys
import unicodedata

from edgedoctor.app.exitcodes import EXIT_UNKNOWN


def one_line(msg: str) -> str:
    """`msg` as exactly one line: text quoted from a file (a host, a reason) may carry line
    breaks or control characters; they are shown escaped, never obeyed."""
    return "".join(
        c if c == " " or unicodedata.category(c)[0] not in ("C", "Z") else f"\\x{ord(c):02x}" if ord(c) < 0x100
        else f"\\u{ord(c):04x}"
        for c in msg
    )


def say(msg: str) -> None:
    """One `edgedoctor:` line on stderr."""
    print(f"edgedoctor: {one_line(msg)}", file=sys.stderr)


def err(msg: str) -> int:
    """One line on stderr for the user; the exit code of every input error."""
    say(msg)
    return EXIT_UNKNOWN
