"""The audit log: one JSON line per change attempt (dry run, change, refusal).

Lines name the step, the operation and the object, never a body: a change's
body may carry a token, and the log is meant to be shared with colleagues.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from typing import Any

DEFAULT_AUDIT_LOG = "edgedoctor-audit.log"


class AuditError(Exception):
    """The audit log cannot be written; no change may then be made."""


class AuditLog:
    def __init__(self, path: str | None, *, playbook: str, host: str, context: str | None = None,
                 scrub: Any = None) -> None:
        self.path = path or DEFAULT_AUDIT_LOG
        self.playbook = playbook
        self.host = host
        self.context = context
        # Last line of defence: drops known secret values from messages.
        self._scrub = scrub or (lambda text: text)

    def check(self) -> None:
        """Fail early (before any request) when the file cannot be appended to."""
        try:
            with open(self.path, "a", encoding="utf-8"):
                pass
        except OSError as e:
            raise AuditError(f"cannot write the audit log {self.path}: {e.strerror or e}") from None

    def record(self, *, step: str, op: str, obj: str, dry_run: bool, applied: bool, result: str,
               message: str, fields: list[str] | None = None) -> dict[str, Any]:
        line: dict[str, Any] = {
            "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "playbook": self.playbook,
            "host": self.host,
            "context": self.context,
            "step": step,
            "op": op,
            "object": obj,
            "fields": list(fields or []),
            "dry_run": dry_run,
            "applied": applied,
            "result": result,
            "message": self._scrub(message),
            "user": _user(),
        }
        try:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(line, sort_keys=False) + "\n")
        except OSError as e:
            raise AuditError(f"cannot write the audit log {self.path}: {e.strerror or e}") from None
        return line


def _user() -> str:
    for var in ("USER", "LOGNAME", "USERNAME"):
        if os.environ.get(var):
            return os.environ[var]
    return ""
