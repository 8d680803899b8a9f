"""Host input history: in memory, optionally kept in a file (hostnames only, no textual)."""

from __future__ import annotations

import os
from pathlib import Path

MAX_ENTRIES = 200


def default_path() -> Path:
    """$XDG_STATE_HOME/edgedoctor/history, else ~/.local/state/edgedoctor/history."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "edgedoctor" / "history"


def _clean(host: str) -> str | None:
    """Only well-formed hostnames are ever kept: nothing typed by mistake (a token) is stored."""
    from edgedoctor.hostname import HostnameError, normalize_host

    try:
        return normalize_host(host)
    except HostnameError:
        return None


class History:
    """Most recent last; `older`/`newer` walk it like a shell's up/down keys."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.entries: list[str] = []
        self._pos: int | None = None
        if path is not None:
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return
        for line in lines[-MAX_ENTRIES:]:
            host = _clean(line.strip())
            if host:
                self._append(host)

    def _append(self, host: str) -> None:
        if host in self.entries:
            self.entries.remove(host)
        self.entries.append(host)
        del self.entries[:-MAX_ENTRIES]

    def add(self, host: str) -> None:
        self._pos = None
        clean = _clean(host)
        if not clean:
            return
        self._append(clean)
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".part")
            tmp.write_text("\n".join(self.entries) + "\n", encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            self.path = None  # an unwritable state dir must not disturb the session

    def older(self) -> str | None:
        if not self.entries:
            return None
        self._pos = len(self.entries) - 1 if self._pos is None else max(0, self._pos - 1)
        return self.entries[self._pos]

    def newer(self) -> str | None:
        if self._pos is None:
            return None
        if self._pos >= len(self.entries) - 1:
            self._pos = None
            return ""
        self._pos += 1
        return self.entries[self._pos]
