"""Findings made from the catalog: a rule names the code, its catalog entry (checks/CODE.yaml)
gives the severity and the node.

A code that takes another severity or is reported at another node in some situation
declares it in its entry (`severities:` and `nodes:`, each with the situation in words);
a rule may only ask for a declared one. A severity changed afterwards (a demotion by a
later layer) goes through `set_severity`, under the same rule.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from typing import Any

from edgedoctor import catalog
from edgedoctor.model import Finding, Severity


class UndeclaredPlacement(ValueError):
    """A rule asked for a severity or node its code's catalog entry does not declare."""


def _declared(code: str, key: str, default_key: str, value: str | None) -> str:
    e = catalog.entry(code)
    default = str(e[default_key])
    if value is None or value == default:
        return default
    if value not in (e.get(key) or {}):
        raise UndeclaredPlacement(f"{code}: {default_key} {value!r} is not declared in checks/{code}.yaml {key}")
    return value


def severity_of(code: str, severity: str | None = None) -> Severity:
    """The catalog's severity of `code`, or a declared other one."""
    sev = _declared(code, "severities", "severity", severity)
    assert sev in ("info", "warning", "critical"), sev  # the catalog test checks every entry
    return sev  # type: ignore[return-value]


def node_of(code: str, node: str | None = None) -> str:
    """The catalog's node of `code`, or a declared other one."""
    return _declared(code, "nodes", "node", node)


def new_finding(code: str, message: str, *, severity: str | None = None, node: str | None = None,
                evidence: dict[str, Any] | None = None, commands: Iterable[str] = (),
                explained_by: str | None = None) -> Finding:
    return Finding(code=code, severity=severity_of(code, severity), node=node_of(code, node), message=message,
                   evidence=evidence or {}, commands=list(dict.fromkeys(commands)), explained_by=explained_by)


def failure_reason(what: str, e: BaseException) -> str:
    """How a rule that raised is reported (its node turns `error`, the others still report):
    which rule, the exception, and where it was raised."""
    where = traceback.extract_tb(e.__traceback__)[-1]
    return f"internal error in {what}: {type(e).__name__}: {e} ({where.filename.rsplit('/', 1)[-1]}:{where.lineno})"


def set_severity(f: Finding, severity: str) -> None:
    """Change a finding's severity after the fact, to one its entry declares."""
    f.severity = severity_of(f.code, severity)
