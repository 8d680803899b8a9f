"""Text for people: the pager line first, then the tree, then the root cause."""

from __future__ import annotations

import json
import re
from typing import Any

from edgedoctor import catalog
from edgedoctor.model import Diagnosis, Finding

# code -> [(playbook id, offered, why not)], as edgedoctor.app.offers computes it.
Offers = dict[str, list[tuple[str, bool, str]]]

MARK = {"pass": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "skip", "unknown": "??  ", "error": "ERR "}
COLOR = {"pass": "32", "warn": "33", "fail": "31", "skip": "90", "unknown": "35", "error": "35"}
VERDICT = {"ok": "OK", "warning": "WARNING", "critical": "CRITICAL", "unknown": "UNKNOWN"}


_WS = re.compile(r"\s+")


def one_line(text: str) -> str:
    """Controller messages carry newlines and tabs; a pager line and a tree row must not."""
    return _WS.sub(" ", text).strip()


# A pager or a monitoring system shows the first line as it is: it fits in this many characters.
PAGER_WIDTH = 200


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)].rstrip() + "…"


def offered(f: Finding, offers: Offers | None) -> list[str]:
    """The finding's playbooks that fit this host; all of the catalog's when nobody judged them."""
    if offers is None:
        return list(f.playbooks)
    return [p for p, ok, _ in offers.get(f.code, []) if ok]


def pager_remedy(d: Diagnosis, offers: Offers | None = None) -> str:
    """What to do, in a few words: the playbook to run, else the catalog remedy's first step."""
    rc = d.root_cause or {}
    f = next((x for x in d.findings if x.code == rc.get("code")), None)
    fitting = offered(f, offers) if f is not None else []
    if fitting:
        return f"fix: edgedoctor fix {fitting[0]} {d.host}"
    try:
        remedy = str(catalog.entry(str(rc.get("code"))).get("remedy") or "")
    except catalog.UnknownCode:
        return f"see: edgedoctor explain {rc.get('code')}"
    first = one_line(re.split(r"\n\s*2\.", remedy.strip(), maxsplit=1)[0])
    first = re.sub(r"^1\.\s*", "", first).split(". ")[0].rstrip(".")
    return "fix: " + _cut(first, 70)


def summary_line(d: Diagnosis, offers: Offers | None = None) -> str:
    """Verdict, category, code, host, what is wrong and what to do, in PAGER_WIDTH characters."""
    head = VERDICT[d.verdict]
    if d.root_cause:
        cat = d.category or "-"
        prefix = one_line(f"{head} {cat} {d.root_cause['code']}: {d.host}") + " "
        remedy = pager_remedy(d, offers)
        room = PAGER_WIDTH - len(prefix) - len(remedy) - 3
        return f"{prefix}{_cut(one_line(d.root_cause['summary']), room)} | {remedy}"
    if d.verdict == "unknown":
        why = d.unknown_reasons[0] if d.unknown_reasons else "state could not be established"
        return _cut(one_line(f"{head} {d.host}: {why}"), PAGER_WIDTH)
    return f"{head} {d.host}: works end to end ({_ok_detail(d)})"


def _ok_detail(d: Diagnosis) -> str:
    passed = [n.node for n in d.tree if n.status == "pass"]
    skipped = [n.node for n in d.tree if n.status == "skip"]
    text = f"{len(passed)} checks passed"
    if skipped:
        text += f", {len(skipped)} not applicable or not probed"
    return text


def _c(text: str, code: str, color: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if color else text


def _fmt_evidence(ev: dict[str, Any], indent: str = "      ") -> list[str]:
    out = []
    for k, v in ev.items():
        if v in (None, [], {}, ""):
            continue
        text = one_line(v) if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
        if len(text) > 300:
            text = text[:297] + "..."
        out.append(f"{indent}{k}: {text}")
    return out


def _finding_block(f: Finding, color: bool, full: bool, host: str, offers: Offers | None) -> list[str]:
    sev = {"critical": "31", "warning": "33", "info": "36"}[f.severity]
    lines = [f"  {_c(f.severity.upper(), sev, color)} {f.code} [{f.category or '-'}] at {f.node}", f"    {one_line(f.message)}"]
    if full:
        ev = _fmt_evidence(f.evidence)
        if ev:
            lines.append("    evidence:")
            lines += ev
    if f.commands:
        lines.append("    see it yourself:")
        lines += [f"      $ {c}" for c in (f.commands if full else f.commands[:2])]
    if full:
        try:
            remedy = str(catalog.entry(f.code).get("remedy") or "").strip()
        except catalog.UnknownCode:
            remedy = ""
        if remedy:
            lines.append("    remedy:")
            lines += [f"      {line}" for line in remedy.splitlines()]
    fitting = offered(f, offers)
    if fitting:
        lines.append(f"    playbooks: {', '.join(fitting)}")
        lines.append(f"      $ edgedoctor fix {fitting[0]} {host}    # dry-run: shows the plan")
    if full and offers is not None:
        # Said once, at the root cause: why `fix` would refuse the catalog's other playbooks here.
        for p, ok, why in offers.get(f.code, []):
            if not ok:
                lines.append(f"    not offered: {p}: {one_line(why)}")
    return lines


def render_text(d: Diagnosis, *, color: bool = False, offers: Offers | None = None) -> str:
    """offers: which playbooks fit this host (edgedoctor.app.offers); None lists the catalog's."""
    lines = [summary_line(d, offers), ""]
    src = d.source.get("kind", "?")
    ctx = d.source.get("context")
    lines.append(f"{d.host}  (source: {src}{', context ' + ctx if ctx else ''})")
    if d.verdict_label:
        # Said before the tree: its FAIL rows would otherwise contradict the WARNING above.
        lines.append(f"  {VERDICT[d.verdict]}: {d.verdict_label}")
    for n in d.tree:
        mark = _c(MARK[n.status], COLOR[n.status], color)
        lines.append(f"  [{mark}] {n.node:<20} {one_line(n.summary)}")
    if d.root_cause:
        root = d.findings[0]
        lines += ["", f"Root cause ({d.category}): {d.root_cause['title']}"]
        lines += _finding_block(root, color, full=True, host=d.host, offers=offers)
        others = d.findings[1:]
    else:
        others = d.findings
    if others:
        lines += ["", "Other findings:"]
        for f in others:
            lines += _finding_block(f, color, full=False, host=d.host, offers=offers)
    if d.unknown_reasons:
        lines += ["", "Could not establish:"] + [f"  - {r}" for r in d.unknown_reasons]
    return "\n".join(lines) + "\n"
