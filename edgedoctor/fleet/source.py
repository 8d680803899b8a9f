"""Where a sweep's hosts come from (one cluster read per context, or a sweep recording),
and the error of a sweep that cannot start. Its own module so that the sweep and its
recording both use it without importing each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgedoctor.evidence import ClusterEvidence


class SweepError(Exception):
    """The sweep cannot start at all (bad input); the message is one line for the user."""


@dataclass
class Source:
    context: str | None
    source: dict[str, Any]
    cluster: ClusterEvidence | None
    now: str
    unknown_reasons: list[str] = field(default_factory=list)
    # From a recording: host -> its recorded probe evidence and options.
    recorded: dict[str, dict[str, Any]] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    zones: list[dict[str, Any]] | None = None  # recorded zone transfers
