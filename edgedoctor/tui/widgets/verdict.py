"""The verdict and root cause, stated plainly at the top."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from edgedoctor.model import Diagnosis
from edgedoctor.tui.present import VERDICT_STYLE, category_words


class VerdictBanner(Static):
    def idle(self, text: str) -> None:
        self.set_class(False, "-error")
        self.update(Text(text, style="dim"))

    def running(self, host: str, what: str) -> None:
        self.set_class(False, "-error")
        self.update(Text.assemble(("checking ", "dim"), (host, "bold"), (f": {what}", "dim")))

    def error(self, host: str | None, message: str) -> None:
        self.set_class(True, "-error")
        head = f"Could not check {host}: " if host else ""
        self.update(Text.assemble(("ERROR ", "bold red"), head, message))

    compact = False  # one line (small terminals): verdict, code, category, the summary cropped
    _last: tuple[Diagnosis, bool] | None = None

    def set_compact(self, compact: bool) -> None:
        if compact != self.compact:
            self.compact = compact
            if self._last is not None:
                self.show(*self._last)

    def show(self, d: Diagnosis, probing: bool) -> None:
        self._last = (d, probing)
        self.set_class(False, "-error")
        if self.compact:
            self.update(self._one_line(d, probing))
            return
        t = Text()
        t.append(d.verdict.upper(), style=VERDICT_STYLE[d.verdict])
        if d.verdict_label:
            # The FAIL rows of the tree need this beside the WARNING, or they contradict it.
            t.append(f" ({d.verdict_label})", style=VERDICT_STYLE[d.verdict])
        if d.root_cause:
            t.append("  root cause: ", style="dim")
            t.append(d.root_cause["code"], style="bold")
            t.append(f" — {d.root_cause.get('title') or ''}\n")
            t.append("category: ", style="dim")
            t.append(category_words(d.category) + "\n")
            t.append(str(d.root_cause.get("summary") or ""))
        elif d.verdict == "unknown":
            t.append("  the state could not be established\n", style="bold")
            t.append("; ".join(unique_reasons(d.unknown_reasons)[:3]))
        else:
            passed = sum(1 for n in d.tree if n.status == "pass")
            t.append(f"  {d.host} works end to end as far as it was checked ({passed} checks passed)")
        if probing:
            t.append("\nprobing DNS, TLS and HTTP from here… the tree updates when they finish", style="dim italic")
        self.update(t)

    def _one_line(self, d: Diagnosis, probing: bool) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(d.verdict.upper(), style=VERDICT_STYLE[d.verdict])
        if d.verdict_label:
            t.append(f" ({d.verdict_label})", style=VERDICT_STYLE[d.verdict])
        if d.root_cause:
            t.append(" " + d.root_cause["code"], style="bold")
            t.append(f" [{d.category or '-'}] ", style="dim")
            t.append(" ".join(str(d.root_cause.get("summary") or "").split()))
        elif d.verdict == "unknown":
            t.append(" " + "; ".join(unique_reasons(d.unknown_reasons)[:1]))
        else:
            t.append(f" {d.host} works end to end")
        if probing:
            t.append("  probing…", style="dim italic")
        return t


def unique_reasons(reasons: list[str]) -> list[str]:
    """Each reason once: "gateway: cluster not read: X" for ten nodes is one API error, said once
    with the nodes it stands for."""
    nodes: dict[str, list[str]] = {}
    for r in reasons:
        node, sep, why = r.partition(": ")
        key = why if sep else r
        nodes.setdefault(key, [])
        if sep:
            nodes[key].append(node)
    out = []
    for why, ns in nodes.items():
        if len(ns) > 1:
            out.append(f"{why} ({len(ns)} nodes: {', '.join(ns[:3])}{', …' if len(ns) > 3 else ''})")
        elif ns:
            out.append(f"{ns[0]}: {why}")
        else:
            out.append(why)
    return out
