"""What the evidence lacks: the kinds that could not be read, one line per cause.

A kind that could not be read is never silently "none exist": the layers treat it as
unknown, and the diagnosis lists every such kind (not only the first) in its
unknown_reasons, whatever the verdict. All permission refusals are one cause with one
remedy (bind the reader role), so they make one line that names every refused read.
"""

from __future__ import annotations

import re
from typing import Any

READER_ROLE = "edgedoctor-reader"
READER_FILE = "deploy/rbac-reader.yaml"

_USER = re.compile(r'User "([^"]+)"')
_CANNOT = re.compile(r"cannot (\w+) (\S+?)(?: \(|$)")
# Entries of the snapshot loader ("?": an item that is not an object) are about the
# files, not about what the cluster holds.
_NOT_KINDS = ("?",)


def _forbidden(e: dict[str, Any]) -> bool:
    return e.get("http_status") == 403 or "forbidden" in str(e.get("reason") or "").lower()


def _verb_resource(e: dict[str, Any]) -> tuple[str, str]:
    verb, resource = e.get("verb"), e.get("resource")
    if isinstance(verb, str) and isinstance(resource, str):
        return verb, resource
    m = _CANNOT.search(str(e.get("reason") or ""))
    if m:
        return m.group(1), m.group(2)
    return "read", str(e.get("kind") or "?").lower() + "s"


def forbidden_line(errors: list[dict[str, Any]]) -> str | None:
    """One line naming every read the user was refused and the role that grants them."""
    refused = [e for e in errors if isinstance(e, dict) and e.get("kind") not in _NOT_KINDS and _forbidden(e)]
    if not refused:
        return None
    by_verb: dict[str, list[str]] = {}
    user = None
    for e in refused:
        verb, resource = _verb_resource(e)
        if resource not in by_verb.setdefault(verb, []):
            by_verb[verb].append(resource)
        m = _USER.search(str(e.get("reason") or ""))
        user = user or (m.group(1) if m else None)
    what = "; ".join(f"{verb} {', '.join(sorted(res))}" for verb, res in sorted(by_verb.items()))
    kinds = sorted({str(e.get("kind")) for e in refused})
    who = f"user {user}" if user else "the current user"
    bind = f"--user={user}" if user else "--user=<you>"
    return (
        f"{who} may not read {', '.join(kinds)} (forbidden: {what}); bind ClusterRole {READER_ROLE} "
        f"(kubectl apply -f {READER_FILE}; kubectl create clusterrolebinding {READER_ROLE} "
        f"--clusterrole={READER_ROLE} {bind})"
    )


def read_gaps(errors: list[dict[str, Any]]) -> list[str]:
    """One line per cause: all refusals together, then each kind's other failure."""
    out: list[str] = []
    line = forbidden_line(errors)
    if line:
        out.append(line)
    seen: set[str] = set()
    for e in errors:
        if not isinstance(e, dict) or e.get("kind") in _NOT_KINDS or _forbidden(e):
            continue
        kind = str(e.get("kind") or "?")
        reason = str(e.get("reason") or "could not be read")
        text = reason if kind == "*" else f"{kind}: {reason}"
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def covered(reason: str, errors: list[dict[str, Any]]) -> bool:
    """True when a node's unknown summary only repeats a read failure already listed."""
    for e in errors:
        if not isinstance(e, dict) or e.get("kind") in _NOT_KINDS:
            continue
        r = str(e.get("reason") or "")
        if r and r in reason:
            return True
        # A per-object entry ("ns/name: forbidden: ...") is quoted without its prefix.
        tail = r.split(": ", 1)[1] if ": " in r else ""
        if tail and tail in reason:
            return True
    return False
