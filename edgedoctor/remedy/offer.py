"""Which playbooks to offer for a finding: only those whose preconditions hold on the evidence.

The catalog names the playbooks that can fix a code; whether one fits this host is
a question for its plan: a playbook that does not apply (no route to publish, no
Certificate to renew) or whose every change is already in place (external-dns
already watches HTTPRoutes) is not offered, and the reason is kept for the screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgedoctor.evidence import Evidence
from edgedoctor.model import Diagnosis, Finding
from edgedoctor.remedy.plan import PlaybookError, build_plan


@dataclass(frozen=True)
class Offer:
    playbook_id: str
    offered: bool
    reason: str = ""  # why not, when not offered


def offer(playbook_id: str, ev: Evidence, d: Diagnosis) -> Offer:
    try:
        plan = build_plan(playbook_id, ev, d, read_only=True)
    except PlaybookError as e:
        return Offer(playbook_id, False, str(e) or type(e).__name__)
    changes = [s for s in plan.steps if s.kind == "change"]
    if changes and all(s.satisfied for s in changes):
        return Offer(playbook_id, False, "already in place: " + "; ".join(str(s.satisfied) for s in changes))
    return Offer(playbook_id, True)


def offers(f: Finding, ev: Evidence, d: Diagnosis) -> list[Offer]:
    """The catalog's playbooks for the finding, each with whether it applies here."""
    return [offer(p, ev, d) for p in f.playbooks]
