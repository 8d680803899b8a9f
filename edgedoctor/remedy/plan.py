"""Playbooks as data (playbooks/*.yaml) and the plan built from one for a diagnosis.

`build_plan` is pure: it reads the evidence and the diagnosis, resolves which
objects each step reads or changes (the named reads and changes of
edgedoctor.remedy.steps), and fills the commands in. Nothing here talks to a
cluster; edgedoctor.remedy.executor does, and only for a confirmed step.
"""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgedoctor.diagnosis.index import as_list
from edgedoctor.evidence import Evidence
from edgedoctor.model import Diagnosis
from edgedoctor.remedy.errors import NotApplicable, PlaybookError, UnknownPlaybook
from edgedoctor.textfmt import fill


@dataclass
class StepPlan:
    id: str
    kind: str  # "read" | "change"
    title: str
    explain: str
    command: str  # the equivalent kubectl / cmctl / helm / dig command, filled in
    target: str | None = None  # e.g. "Certificate gateway/wildcard-example-com"
    # The exact change: {"op": "patch"|"update-status"|"create"|"delete", "kind",
    # "namespace", "name", "body", ...}; never a secret value (see StepPlan.secret_input).
    change: dict[str, Any] | None = None
    gitops: str | None = None  # who owns the object and the Git/values change to make instead
    blocked: str | None = None  # why it cannot run here (replay/snapshot, manual step, no target)
    verify: str | None = None  # the named read that shows the change took effect
    # --- additions to the first version of the contract (all optional) ---
    check: str | None = None  # the named read of a read step
    action: str | None = None  # the named change of a change step
    reads: list[dict[str, Any]] = field(default_factory=list)  # [{"kind","namespace","name","fields"}]
    satisfied: str | None = None  # already in the wanted state: nothing to change (why)
    precondition: str | None = None  # named read that must pass, live, before the change
    # Steps of one `choice` are alternatives: at most one `option` of it is applied.
    choice: str | None = None
    option: str | None = None
    recommended: bool = False
    git_snippet: str | None = None  # the YAML to commit when the object is GitOps-managed
    secret_input: str | None = None  # the change needs a secret typed/read at apply time (what)
    optional: bool = False  # offered; the plan works without it

    @property
    def is_change(self) -> bool:
        return self.kind == "change"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    playbook_id: str
    title: str
    host: str
    steps: list[StepPlan]
    notes: list[str]
    read_only: bool
    # --- additions ---
    summary: str = ""
    preconditions: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)  # codes of the diagnosis this plan is for
    verdict: str = ""
    root_cause: dict[str, Any] | None = None

    @property
    def change_steps(self) -> list[StepPlan]:
        return [s for s in self.steps if s.is_change]

    @property
    def nothing_to_change(self) -> bool:
        """Every change is in place: each plain step, and one whole option of each choice
        (the other options of a choice are alternatives, not left-over work)."""
        ch = self.change_steps
        options: dict[str, dict[str, bool]] = {}
        for s in ch:
            if s.choice and not s.optional:
                group = options.setdefault(s.choice, {})
                group[str(s.option)] = group.get(str(s.option), True) and bool(s.satisfied)
        plain = [s for s in ch if not s.choice and not s.optional]
        return bool(ch) and all(s.satisfied for s in plain) and all(any(g.values()) for g in options.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "playbook_id": self.playbook_id,
            "title": self.title,
            "host": self.host,
            "summary": self.summary,
            "preconditions": self.preconditions,
            "fixes": self.fixes,
            "addresses": self.addresses,
            "verdict": self.verdict,
            "root_cause": self.root_cause,
            "read_only": self.read_only,
            "notes": self.notes,
            "steps": [s.to_dict() for s in self.steps],
        }


@dataclass
class StepResult:
    ok: bool
    message: str  # one line
    details: dict[str, Any] = field(default_factory=dict)
    # ok | unchanged | denied | failed | refused | blocked | declined (addition)
    outcome: str = ""


# ---------------------------------------------------------------- the YAML files


def playbooks_dir() -> Path:
    from edgedoctor.catalog import data_dir

    return data_dir("playbooks")


@functools.cache
def load_playbook(playbook_id: str) -> dict[str, Any]:
    if not playbook_id or "/" in playbook_id or playbook_id.startswith(".") or "\\" in playbook_id:
        raise UnknownPlaybook(f"unknown playbook {playbook_id!r}; `edgedoctor fix --list` lists them")
    path = playbooks_dir() / f"{playbook_id}.yaml"
    if not path.is_file():
        raise UnknownPlaybook(f"unknown playbook {playbook_id!r}; `edgedoctor fix --list` lists them")
    import yaml

    with path.open(encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict) or doc.get("id") != playbook_id:
        raise UnknownPlaybook(f"playbook file {path.name} is not the playbook {playbook_id!r}")
    return doc


def playbook_ids() -> list[str]:
    return sorted(p.stem for p in playbooks_dir().glob("*.yaml"))


def available_playbooks() -> list[dict[str, Any]]:
    out = []
    for pid in playbook_ids():
        pb = load_playbook(pid)
        out.append({
            "id": pid,
            "title": str(pb.get("title") or ""),
            "fixes": [str(c) for c in as_list(pb.get("fixes"))],
            "summary": " ".join(str(pb.get("summary") or "").split()),
        })
    return out


def playbooks_for(code: str) -> list[str]:
    return [p["id"] for p in available_playbooks() if code in p["fixes"]]


# ---------------------------------------------------------------- building a plan


_DENIED = re.compile(r"\bcannot (\w+) ([\w.-]+)")
_USER = re.compile(r'User "([^"]*)"')


def unreadable(errors: list[Any]) -> str:
    """One line naming what the cluster would not let the plan read ("" when all was read).

    A 403 names the verbs and resources the user lacks and the role that grants them; an
    unreachable server or another API error is named as it is. A CRD that is not installed
    is not an error here: its objects do not exist, the plan knows that.
    """
    from edgedoctor.kinds import BY_KIND

    denied: list[str] = []
    user = ""
    other: list[str] = []
    for e in errors:
        if not isinstance(e, dict):
            continue
        reason = str(e.get("reason") or "")
        kind = BY_KIND.get(str(e.get("kind")))
        if "forbidden" in reason or "unauthorized" in reason:
            if "unauthorized" in reason:
                other.append(f"the API server rejected the credentials ({reason})")
                continue
            m = _DENIED.search(reason)
            verb = m.group(1) if m else ("get" if kind and kind.kind == "Secret" else "list")
            resource = (f"{kind.plural}.{kind.group}" if kind.group else kind.plural) if kind else (
                m.group(2) if m else str(e.get("kind")))
            where = reason.split(":", 1)[0] if kind and kind.kind == "Secret" and ":" in reason else ""
            item = f"{verb} {resource}" + (f" {where}" if where and "/" in where else "")
            if item not in denied:
                denied.append(item)
            user = user or (_USER.search(reason).group(1) if _USER.search(reason) else "")
        elif "is not installed" not in reason:
            other.append(f"{e.get('kind')}: {reason}")
    if denied:
        who = f'user "{user}"' if user else "these credentials"
        return (f"{who} may not {', '.join(denied)} (403 Forbidden): bind the edgedoctor-reader "
                "and edgedoctor-fixer ClusterRoles (deploy/) or use credentials that may read them")
    if other:
        return "the cluster could not be read completely: " + "; ".join(other)
    return ""


def build_plan(
    playbook_id: str, ev: Evidence, diagnosis: Diagnosis, *, read_only: bool | None = None
) -> Plan:
    """The plan of one playbook for this evidence and diagnosis (pure: no I/O).

    read_only defaults to "the evidence is not live" (snapshot); a caller replaying a
    recording of a live check must pass read_only=True.
    Raises UnknownPlaybook or NotApplicable (one-line messages).
    """
    from edgedoctor.remedy import steps as S
    from edgedoctor.remedy.context import PlanContext

    pb = load_playbook(playbook_id)
    if read_only is None:
        read_only = str(ev.source.get("kind") or "") != "live"
    if not ev.cluster.reachable:
        raise NotApplicable(f"the cluster could not be read, so no plan can be made for {ev.host}")
    if not read_only:
        refused = unreadable(ev.cluster.errors)
        if refused:
            # A plan made from part of the cluster would act on the wrong objects, or on
            # none ("nothing to act on") while the real cause went unseen.
            raise NotApplicable(f"cannot plan {playbook_id}: {refused}; nothing was changed")
    pc = PlanContext.build(ev, diagnosis, pb)
    fixes = [str(c) for c in as_list(pb.get("fixes"))]
    found = [c for c in diagnosis.codes if c in fixes]
    extra = pb.get("applies_when")
    by_condition = bool(extra) and S.condition(str(extra), pc)
    steps: list[StepPlan] = []
    for raw in as_list(pb.get("steps")):
        if not isinstance(raw, dict):
            continue
        steps.extend(_expand(raw, pc, read_only))
    steps = _order_choices(steps)
    plan = Plan(
        playbook_id=playbook_id,
        title=str(pb.get("title") or playbook_id),
        host=ev.host,
        steps=steps,
        notes=list(dict.fromkeys(pc.notes)),
        read_only=read_only,
        summary=" ".join(str(pb.get("summary") or "").split()),
        preconditions=[str(p) for p in as_list(pb.get("preconditions"))],
        fixes=fixes,
        addresses=found,
        verdict=diagnosis.verdict,
        root_cause=diagnosis.root_cause,
    )
    if not found and not by_condition:
        if plan.nothing_to_change:
            plan.notes.insert(0, "nothing to change: what this playbook would do is already in place")
        elif pb.get("requires_finding", True) is False and plan.change_steps:
            plan.notes.insert(0, f"the diagnosis of {ev.host} does not call for it ({_shows(diagnosis)}); "
                                 "it runs because you asked for it")
        elif not plan.change_steps:
            # Typically the second run after a successful one: what it acted on is gone.
            raise NotApplicable(
                f"nothing to change: playbook {playbook_id} finds nothing to act on for {ev.host}, whose "
                f"diagnosis shows {_shows(diagnosis)} (it fixes {', '.join(fixes)})"
                + ("; " + "; ".join(plan.notes) if plan.notes else ""))
        else:
            raise NotApplicable(
                f"playbook {playbook_id} fixes {', '.join(fixes)}; the diagnosis of {ev.host} shows "
                f"{_shows(diagnosis)}" + (f" (`edgedoctor fix` with {', '.join(_suggest(diagnosis))})"
                                          if _suggest(diagnosis) else "")
            )
    if not plan.change_steps:
        raise NotApplicable(f"playbook {playbook_id} has nothing to change for {ev.host}: "
                            + ("; ".join(plan.notes) or "no target found"))
    if read_only:
        why = "read-only evidence (snapshot or replay): the plan is shown, nothing is changed"
        for s in plan.change_steps:
            if not s.blocked:
                s.blocked = why
    return plan


def _shows(d: Diagnosis) -> str:
    if d.root_cause:
        return f"{d.verdict}: {d.root_cause.get('code')}"
    return d.verdict


def _suggest(d: Diagnosis) -> list[str]:
    out: list[str] = []
    for f in d.findings:
        for p in f.playbooks:
            if p not in out:
                out.append(p)
    return out[:3]


def _expand(raw: dict[str, Any], pc: Any, read_only: bool) -> list[StepPlan]:
    from edgedoctor.remedy import steps as S

    kind = str(raw.get("kind") or "read")
    sid = str(raw.get("id") or "step")
    name = str(raw.get("action") if kind == "change" else raw.get("check") or "")
    builder = S.ACTIONS.get(name) if kind == "change" else S.READ_TARGETS.get(name)
    if builder is None:
        raise PlaybookError(f"playbook step {sid}: unknown {'action' if kind == 'change' else 'check'} {name!r}")
    params = raw.get("with") if isinstance(raw.get("with"), dict) else {}
    expansions = builder(pc, params)
    out = []
    many = len(expansions) > 1
    for i, x in enumerate(expansions, 1):
        values = {**pc.values, **x.values}
        title = fill(str(raw.get("title") or sid), values)
        explain = fill(str(raw.get("explain") or "").strip(), values)
        if x.explain:
            explain = (explain + "\n" + x.explain).strip()
        command = x.command or fill(str(raw.get("command") or ""), values)
        step = StepPlan(
            id=f"{sid}-{i}" if many else sid,
            kind=kind,
            title=title + (f" ({x.label})" if x.label else ""),
            explain=explain,
            command=command,
            target=x.target,
            change=x.change,
            gitops=x.gitops,
            blocked=x.blocked,
            verify=str(raw["verify"]) if raw.get("verify") else None,
            check=name if kind == "read" else None,
            action=name if kind == "change" else None,
            reads=x.reads,
            satisfied=x.satisfied,
            precondition=str(raw["precondition"]) if raw.get("precondition") else x.precondition,
            choice=str(raw["choice"]) if raw.get("choice") else x.choice,
            option=str(raw["option"]) if raw.get("option") else x.option,
            recommended=x.recommended,
            git_snippet=x.git_snippet,
            secret_input=x.secret_input,
            optional=bool(raw.get("optional")) or x.optional,
        )
        if step.precondition and step.change is not None:
            pre = S.PRECONDITIONS.get(step.precondition)
            if pre is None:
                raise PlaybookError(f"playbook step {sid}: unknown precondition {step.precondition!r}")
            step.change["requires"] = pre(pc)
        out.append(step)
    return out


def _order_choices(steps: list[StepPlan]) -> list[StepPlan]:
    """Within each run of steps of one choice, the recommended option comes first."""
    out: list[StepPlan] = []
    i = 0
    while i < len(steps):
        s = steps[i]
        if not s.choice:
            out.append(s)
            i += 1
            continue
        j = i
        while j < len(steps) and steps[j].choice == s.choice:
            j += 1
        group = steps[i:j]
        rec = {g.option for g in group if g.recommended}
        out.extend(sorted(group, key=lambda g: g.option not in rec))
        i = j
    return out
