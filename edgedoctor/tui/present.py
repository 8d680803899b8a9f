"""How statuses, verdicts and findings read on screen (words and colours only)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from rich.text import Text

from edgedoctor.model import Finding
from edgedoctor.textfmt import dump_yaml, indent

if TYPE_CHECKING:
    from edgedoctor.model import Diagnosis

STATUS_MARK = {"pass": "✔", "warn": "!", "fail": "✘", "skip": "–", "unknown": "?", "error": "‼"}
STATUS_WORD = {"pass": "ok", "warn": "warn", "fail": "FAIL", "skip": "skip", "unknown": "unknown", "error": "error"}
STATUS_STYLE = {
    "pass": "green",
    "warn": "yellow",
    "fail": "bold red",
    "skip": "dim",
    "unknown": "magenta",
    "error": "bold magenta",
}
VERDICT_STYLE = {"ok": "bold green", "warning": "bold yellow", "critical": "bold red", "unknown": "bold magenta"}
SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}
SEVERITY_WORD = {"critical": "CRIT", "warning": "WARN", "info": "info"}
CATEGORY_WORDS = {
    "app-routing": "app routing: Gateway, listener, route or backend",
    "dns-sync": "DNS sync: the record or the controller that publishes it",
    "cert-issuance": "certificate issuance: cert-manager, ACME or the Secret",
}
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def category_words(category: str | None) -> str:
    if not category:
        return "-"
    return f"{category} ({CATEGORY_WORDS[category]})" if category in CATEGORY_WORDS else category


def root_label(d: Diagnosis | None) -> str:
    """A diagnosis' root cause as it reads in "before -> after" lines (the same as `fix` prints)."""
    # Imported here: the playbook layer (remedy.plan, remedy.executor) is not needed for the
    # first screen, only once a walkthrough is open.
    from edgedoctor.app.playbook import verdict_line

    return verdict_line(d)


def short(value: Any, limit: int = 240) -> str:
    if isinstance(value, str):
        text = value
    else:
        import json  # only for a value that is not text

        text = json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def yaml_block(data: Any) -> str:
    return dump_yaml(data, width=96).rstrip()


def finding_text(f: Finding, *, root: bool) -> Text:
    t = Text()
    t.append(f"{f.severity.upper()} ", style=SEVERITY_STYLE[f.severity])
    t.append(f.code, style="bold")
    if root:
        t.append("  (root cause)", style="bold")
    t.append(f"  [{f.category or '-'}]\n", style="dim")
    t.append(f"{f.message}\n")
    shown = {k: v for k, v in f.evidence.items() if v not in (None, [], {}, "")}
    if shown:
        t.append("evidence:\n", style="dim")
        t.append(indent(yaml_block(shown)) + "\n")
    if f.playbooks:
        t.append("playbooks: ", style="dim")
        t.append(", ".join(f.playbooks), style="bold cyan")
        t.append("  (Enter or p on the finding walks you through)\n", style="dim")
    return t


def reflow(text: str) -> str:
    """Join the hard-wrapped lines of a catalog text so the widget wraps it to its width.

    Paragraphs (blank lines) and list items (`1.`, `-`, `*`) stay apart.
    """
    out: list[str] = []
    for line in str(text or "").splitlines():
        s = line.strip()
        if not s:
            if out and out[-1] != "":
                out.append("")
            continue
        starts_item = bool(re.match(r"^(\d+\.|[-*])\s", s))
        if out and out[-1] != "" and not starts_item:
            out[-1] += " " + s
        else:
            out.append(s)
    return "\n".join(out).strip()
