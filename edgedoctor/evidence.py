"""Evidence: everything a check observed, as plain JSON-able data.

The probes fill it, the diagnosis reads it, a recording stores it. Replaying a
recording is running the same diagnosis on the stored evidence, which is why a
replay gives the same answer as the original check.

Shapes (all values are JSON types):

cluster
    objects  list of Kubernetes objects as the API returns them (Secrets reduced
             to their public certificate by `edgedoctor.redact`)
    errors   list of {"kind", "status": "unknown"|"error", "reason"}: a kind that
             could not be read (CRD missing, 403, timeout, ...)
    kinds_read  the kinds that were read; absence of objects of another kind
             proves nothing
    reachable  False when no API server (or snapshot) could be read at all
dns        the DNS probe's result (see edgedoctor.probes.dns), or None offline
tls        list of TLS handshakes (see edgedoctor.probes.tls), or None offline
http       list of HTTP probes (see edgedoctor.probes.http), or None offline
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EVIDENCE_SCHEMA = 1


@dataclass
class ClusterEvidence:
    objects: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    reachable: bool = True
    context: str | None = None
    cluster: str | None = None
    # Kinds that were actually read (listed live, or present in a snapshot).
    # A kind that was not read says nothing: its absence is not "none exist".
    kinds_read: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "cluster": self.cluster,
            "reachable": self.reachable,
            "kinds_read": self.kinds_read,
            "errors": self.errors,
            "objects": self.objects,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClusterEvidence:
        objects = data.get("objects") or []
        errors = data.get("errors") or []
        if not isinstance(objects, list) or not isinstance(errors, list):
            raise ValueError("cluster.objects and cluster.errors must be lists")
        return cls(
            objects=[o for o in objects if isinstance(o, dict)],
            errors=[e for e in errors if isinstance(e, dict)],
            reachable=bool(data.get("reachable", True)),
            context=data.get("context"),
            cluster=data.get("cluster"),
            kinds_read=[str(k) for k in data.get("kinds_read") or []],
        )


@dataclass
class Evidence:
    host: str
    now: str  # RFC3339: the instant validity and "stuck for" are judged at
    source: dict[str, Any]
    cluster: ClusterEvidence
    dns: dict[str, Any] | None = None
    tls: list[dict[str, Any]] | None = None
    http: list[dict[str, Any]] | None = None
    # Options that change the meaning of the evidence (offline, --resolve, ...).
    options: dict[str, Any] = field(default_factory=dict)
    tool_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "now": self.now,
            "tool_version": self.tool_version,
            "source": self.source,
            "options": self.options,
            "cluster": self.cluster.to_dict(),
            "dns": self.dns,
            "tls": self.tls,
            "http": self.http,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evidence:
        if not isinstance(data, dict):
            raise ValueError("evidence must be a mapping")
        host = data.get("host")
        now = data.get("now")
        if not isinstance(host, str) or not host:
            raise ValueError("evidence has no host")
        if not isinstance(now, str) or not now:
            raise ValueError("evidence has no time ('now')")
        cluster = data.get("cluster") or {}
        if not isinstance(cluster, dict):
            raise ValueError("evidence.cluster must be a mapping")
        tls = data.get("tls")
        http = data.get("http")
        dns = data.get("dns")
        if tls is not None and not isinstance(tls, list):
            raise ValueError("evidence.tls must be a list")
        if http is not None and not isinstance(http, list):
            raise ValueError("evidence.http must be a list")
        if dns is not None and not isinstance(dns, dict):
            raise ValueError("evidence.dns must be a mapping")
        return cls(
            host=host,
            now=now,
            source=dict(data.get("source") or {}),
            cluster=ClusterEvidence.from_dict(cluster),
            dns=dns,
            tls=tls,
            http=http,
            options=dict(data.get("options") or {}),
            tool_version=str(data.get("tool_version") or ""),
        )
