"""A guided walkthrough for any catalog code, made from its catalog entry and the finding.

Where no playbook applies (none exists for the code, or its preconditions do not hold
here), the walkthrough still guides: the reads that confirm the cause, each with its
command and what the answer means; the manual or GitOps steps of the remedy (edgedoctor
makes none of them); a re-check at the end, for `dns-propagation` at the end of the
resolvers' cache time. The plan has the shape of edgedoctor.remedy's Plan (the
walkthrough screen shows both) and is always read-only. No Textual here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from edgedoctor import catalog
from edgedoctor.evidence import Evidence
from edgedoctor.model import Diagnosis, Finding
from edgedoctor.shellcmd import changes_something
from edgedoctor.textfmt import fill
from edgedoctor.tui.present import reflow

MANUAL = "a manual or GitOps change: make it as described; edgedoctor does not make it"


@dataclass
class GuideStep:
    id: str
    kind: str  # "read" | "change"
    title: str
    explain: str = ""
    command: str = ""
    target: str | None = None
    change: dict[str, Any] | None = None
    gitops: str | None = None
    blocked: str | None = None
    verify: str | None = None
    check: str | None = None  # "evidence" (the finding's evidence) or "rediagnose"
    satisfied: str | None = None
    git_snippet: str | None = None
    optional: bool = False
    deadline: str | None = None  # RFC 3339: the re-check makes sense from then on (countdown)
    # The rest of remedy.StepPlan's fields: a guide has no alternatives and asks for nothing.
    choice: str | None = None
    option: str | None = None
    recommended: bool = False
    secret_input: str | None = None
    precondition: str | None = None


@dataclass
class GuidePlan:
    playbook_id: str
    title: str
    host: str
    steps: list[GuideStep]
    notes: list[str] = field(default_factory=list)
    read_only: bool = True
    summary: str = ""
    preconditions: list[str] = field(default_factory=list)


@dataclass
class GuideResult:
    ok: bool
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    outcome: str = "ok"


# What the answer of a command means, by the shape of the command (first match wins).
_MEANINGS: tuple[tuple[str, str], ...] = (
    (r"^dig\b.*\bSOA\b", "The zone's SOA record: min(SOA TTL, its last field MINIMUM) is how long resolvers "
                          "cache a \"does not exist\" answer for names of the zone (RFC 2308)."),
    (r"^dig\b.*\bCAA\b", "The CAA records on the way up from the name: which CAs may issue for it; no record "
                          "allows any CA."),
    (r"^dig\b.*_acme-challenge.*\bTXT\b|^dig\b.*\bTXT\b.*_acme-challenge",
     "The DNS-01 challenge record: while a challenge is pending it must hold the key cert-manager wrote, at the "
     "zone's authoritative servers; left over after issuance, it is a leak."),
    (r"^dig\b.*\bTXT\b", "The TXT records: external-dns's ownership records (heritage, owner, resource) tell "
                          "which cluster and object manage the name."),
    (r"^dig\b.*\+norecurse", "The answer of the zone's authoritative server: the record as published, no cache "
                              "in between."),
    (r"^dig @", "The answer of that recursive resolver, from its cache: what clients behind it get now. "
                "Compare with the authoritative answer."),
    (r"^dig\b", "What this machine's resolver answers for the name."),
    (r"^openssl s_client", "The certificate the edge serves for the name (SNI): subject, issuer, validity dates "
                           "and the names it covers (subjectAltName)."),
    (r"^curl -s?I http://", "The HTTP answer on port 80: a 301/308 with Location https://... is the redirect; "
                            "a 200 means the site is served in clear."),
    (r"^curl", "The HTTP(S) answer of the edge for the name."),
    (r"^kubectl .*\blogs\b", "The controller's recent log lines: the error the finding quotes shows here, "
                             "with its time."),
    (r"^kubectl .*get namespace.*--show-labels", "The namespace's labels: a listener's allowedRoutes selector "
                                                 "matches routes by them."),
    (r"^kubectl .*\{\.status", "The object's status as its controller wrote it: the condition, reason and "
                               "message the finding quotes."),
    (r"^kubectl .*\{\.spec", "The object's spec: the field the finding names, as it is in the cluster (and, "
                             "under GitOps, in Git)."),
    (r"^kubectl .*-o jsonpath", "The field of the object the finding is about."),
    (r"^kubectl .*\bdescribe\b", "The object with its status and its recent events: the events say what the "
                                 "controller tried last."),
    (r"^kubectl .*\bget\b.*-o yaml", "The whole object as the API server holds it."),
    (r"^kubectl .*\bget\b", "The objects of that kind that exist, with their state columns."),
    (r"^cmctl status", "The Certificate with its current CertificateRequest, Order and Challenges and their "
                       "states, in one view."),
    (r"^edgedoctor", "edgedoctor's diagnosis of the host again."),
)


def answer_meaning(command: str) -> str:
    for pattern, meaning in _MEANINGS:
        if re.search(pattern, command.strip()):
            return meaning
    return "Compare its answer with what edgedoctor saw."


def remedy_items(text: str) -> tuple[str, list[str]]:
    """(the remedy's lead-in, its items): each numbered or bulleted item is one step."""
    lead: list[str] = []
    items: list[str] = []
    for para in reflow(text).split("\n"):
        if not para:
            continue
        m = re.match(r"^(\d+\.|[-*])\s+(.*)$", para)
        if m:
            items.append(m.group(2).strip())
        elif items:
            items[-1] += " " + para
        else:
            lead.append(para)
    if not items and lead:
        items, lead = lead, []
    return " ".join(lead), items


def _title_of(item: str, limit: int = 90) -> str:
    first = re.split(r"(?<=[.;:])\s", item, maxsplit=1)[0].rstrip(".;:")
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def _deadline(ev: Evidence, seconds: Any) -> str | None:
    try:
        t = datetime.strptime(ev.now, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        return (t + timedelta(seconds=float(seconds))).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        return None


def build_guide(f: Finding, ev: Evidence, d: Diagnosis, values: dict[str, str],
                playbooks: list[tuple[str, str]] | None = None) -> GuidePlan:
    """The walkthrough of finding `f`: confirm, fix (manual/GitOps), re-check.

    values: the placeholders of the catalog's texts (the engine's placeholder_values);
    playbooks: (id, why not offered) for the catalog's playbooks that do not apply here.
    """
    try:
        e = catalog.entry(f.code)
    except catalog.UnknownCode:
        e = {"title": f.code, "remedy": "", "summary": ""}
    steps: list[GuideStep] = [GuideStep(
        id="seen", kind="read", check="evidence",
        title=f"What edgedoctor saw at {f.node}",
        explain=f"{f.message}\n\nThe reads below show the same by hand; each says what its answer means.",
        target=f"node {f.node}",
    )]
    cmds = [c for c in f.commands if not changes_something(c)]
    for i, c in enumerate(cmds, 1):
        steps.append(GuideStep(
            id=f"confirm-{i}", kind="read", check="evidence", command=c,
            title=f"Confirm: {c if len(c) <= 72 else c[:71] + '…'}",
            explain=f"What the answer means: {answer_meaning(c)}\n\n"
                    f"It confirms {f.code} when it agrees with what edgedoctor saw: {f.message}",
        ))
    lead, items = remedy_items(fill(str(e.get("remedy") or ""), values))
    for i, item in enumerate(items, 1):
        steps.append(GuideStep(
            id=f"fix-{i}", kind="change", title=_title_of(item),
            explain=(lead + "\n\n" if lead and i == 1 else "") + item,
            blocked=MANUAL,
        ))
    recheck = GuideStep(
        id="recheck", kind="read", check="rediagnose", command=f"edgedoctor check {ev.host}",
        title=f"Re-check: diagnose {ev.host} again",
        explain=f"Done when {f.code} is gone from the diagnosis (ctrl+r on the diagnosis screen runs it too).",
    )
    wait = f.evidence.get("wait_seconds_left") if f.code == "dns-propagation" else None
    if wait is not None:
        recheck.deadline = _deadline(ev, wait)
        recheck.title = "Re-check when the resolvers' cached answer runs out"
        recheck.explain = (
            "Resolvers keep the old answer (a cached NXDOMAIN for the zone's negative TTL) until it runs out; "
            f"changing the record again restarts the clock. The last resolver's cache ends at {recheck.deadline} "
            f"({int(float(wait))} s after the check). Then re-check: done when {f.code} is gone."
        )
    steps.append(recheck)
    notes = [f"playbook {p} does not apply here: {why}" for p, why in playbooks or []]
    return GuidePlan(
        playbook_id=f"guide:{f.code}",
        title=f"Guide: {e.get('title') or f.code}",
        host=ev.host,
        steps=steps,
        notes=notes,
        summary=reflow(str(e.get("summary") or "")),
    )


class GuideExecutor:
    """Runs a guide's reads: the finding's evidence, or the diagnosis again. Changes nothing."""

    def __init__(self, f: Finding, ev: Evidence, rediagnose) -> None:
        self.finding, self.ev, self._rediagnose = f, ev, rediagnose

    def run_read(self, step: GuideStep) -> GuideResult:
        if step.check == "rediagnose":
            d = self._rediagnose()
            still = [x for x in d.findings if x.code == self.finding.code and x.severity != "info"]
            rc = d.root_cause or {}
            msg = f"diagnosis: {d.verdict}" + (f", root cause {rc.get('code')}" if rc else "")
            if still:
                return GuideResult(False, f"{self.finding.code} is still there ({msg})", outcome="ok")
            return GuideResult(True, f"{self.finding.code} is gone ({msg})")
        shown = {k: v for k, v in self.finding.evidence.items() if v not in (None, [], {}, "")}
        return GuideResult(True, f"edgedoctor's evidence as of {self.ev.now}: {self.finding.message}",
                           details=shown if step.id == "seen" else {})

    def dry_run(self, step: GuideStep) -> GuideResult:
        return GuideResult(False, MANUAL, outcome="blocked")

    def apply(self, step: GuideStep) -> GuideResult:
        return GuideResult(False, MANUAL, outcome="blocked")


def seconds_left(deadline: str, now: datetime | None = None) -> int | None:
    try:
        t = datetime.strptime(deadline, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return int((t - (now or datetime.now(timezone.utc))).total_seconds())
