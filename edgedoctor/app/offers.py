"""Which of the catalog's playbooks fit this host, for every front end.

The catalog names every playbook that can fix a code; a front end that suggests
`edgedoctor fix X` should name only those whose plan holds on this evidence
(edgedoctor.remedy.offer decides), and say why the others are left out.
"""

from __future__ import annotations

from edgedoctor.evidence import Evidence
from edgedoctor.model import Diagnosis

# code -> [(playbook id, offered, why not)]: plain data, so a renderer needs no remedy import.
Offers = dict[str, list[tuple[str, bool, str]]]


def playbook_offers(ev: Evidence, d: Diagnosis) -> Offers:
    """The offers of each finding that has playbooks (a code is judged once)."""
    from edgedoctor.remedy.offer import offers

    out: Offers = {}
    for f in d.findings:
        if f.playbooks and f.code not in out:
            out[f.code] = [(o.playbook_id, o.offered, o.reason) for o in offers(f, ev, d)]
    return out
