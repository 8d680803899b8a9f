"""The diagnosis as plain data: node results, findings and the verdict.

Everything here is stdlib dataclasses so that the engine stays pure and every
front end (text, JSON, TUI, recordings) reads the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["pass", "warn", "fail", "skip", "unknown", "error"]
Severity = Literal["info", "warning", "critical"]
Verdict = Literal["ok", "warning", "critical", "unknown"]
Category = Literal["app-routing", "dns-sync", "cert-issuance"]

SCHEMA_VERSION = 1

# The contract's order, hostname end first.
NODE_ORDER: tuple[str, ...] = (
    "dns",
    "load-balancer",
    "gateway",
    "listener",
    "route",
    "backend",
    "certificate",
    "certificate-request",
    "order",
    "challenge",
    "secret",
    "served-certificate",
    "http-redirect",
)

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


@dataclass
class NodeResult:
    node: str
    status: Status
    summary: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "status": self.status,
            "summary": self.summary,
            "details": self.details,
        }


@dataclass
class Finding:
    code: str
    severity: Severity
    node: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    # Filled from the catalog entry when the diagnosis is assembled.
    category: str | None = None
    playbooks: list[str] = field(default_factory=list)
    # The code of another finding this one is a consequence of, when the layer that saw
    # both knows it (checks/README.md, "Ranking"). Not part of the JSON contract.
    explained_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "category": self.category,
            "node": self.node,
            "message": self.message,
            "evidence": self.evidence,
            "commands": self.commands,
            "playbooks": self.playbooks,
        }


@dataclass
class Diagnosis:
    host: str
    verdict: Verdict
    category: str | None
    root_cause: dict[str, Any] | None
    findings: list[Finding]
    tree: list[NodeResult]
    source: dict[str, Any]
    generated_at: str
    # Why the state could not be established, when the verdict is unknown.
    unknown_reasons: list[str] = field(default_factory=list)
    # Why a WARNING verdict stands over nodes marked FAIL ("renewal blocked, current
    # certificate valid until ..."); None otherwise.
    verdict_label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "host": self.host,
            "verdict": self.verdict,
            "category": self.category,
            "root_cause": self.root_cause,
            "findings": [f.to_dict() for f in self.findings],
            "tree": [n.to_dict() for n in self.tree],
            "generated_at": self.generated_at,
            "source": self.source,
        }
        if self.unknown_reasons:
            out["unknown_reasons"] = self.unknown_reasons
        if self.verdict_label:
            out["verdict_label"] = self.verdict_label
        return out

    def node(self, name: str) -> NodeResult | None:
        for n in self.tree:
            if n.node == name:
                return n
        return None

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

