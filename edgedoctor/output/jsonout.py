"""The JSON of the scripting contract (docs/cli-contract.md)."""

from __future__ import annotations

import json

from edgedoctor.model import Diagnosis


def render_json(d: Diagnosis) -> str:
    return json.dumps(d.to_dict(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
