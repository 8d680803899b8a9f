"""The audit log: one JSON line per change attempt (dry run, change, refusal).

Lines name the step, the operation and the object, never a body: a change's
body may carry a token, and the log is meant to be shared with colleagues.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

DEFAULT_AUDIT_LOG = "edgedoctor-audit.log"


class AuditError(Exception):
    """The audit log cannot be written; no change may then be made."""


class AuditLog:
    def __init__(self, path: str | None, *, playbook: str, host: str, context: str | None = None,
                 scrub: Any = None, whoami: Callable[[], str] | None = None) -> None:
        self.path = path or DEFAULT_AUDIT_LOG
        self.playbook = playbook
        self.host = host
        self.context = context
        # Last line of defence: drops known secret values from messages.
        self._scrub = scrub or (lambda text: text)
        # Who the API server says made the change: asked once, at the first line written.
        self._whoami = whoami
        self._user: str | None = None

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
            "user": self.user(),
            "local_user": _local_user(),
        }
        try:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(line, sort_keys=False) + "\n")
        except OSError as e:
            raise AuditError(f"cannot write the audit log {self.path}: {e.strerror or e}") from None
        return line


    def user(self) -> str:
        """The cluster user (SelfSubjectReview) the changes are made as.

        The login name of this machine says nothing about whose credentials reached the
        cluster (a shared admin kubeconfig, a CI token); the API server's answer does. When
        it cannot answer (no live cluster, an API server older than 1.28), the line says so.
        """
        if self._user is None:
            if self._whoami is None:
                self._user = ""
            else:
                try:
                    self._user = self._whoami()
                except Exception as e:  # the audit line is still written, saying why
                    self._user = f"unknown (SelfSubjectReview failed: {' '.join(str(e).split())[:200]})"
        return self._user


def _local_user() -> str:
    for var in ("USER", "LOGNAME", "USERNAME"):
        if os.environ.get(var):
            return os.environ[var]
    return ""
