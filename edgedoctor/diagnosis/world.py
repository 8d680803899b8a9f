"""What the world shows: DNS answers, served certificates and redirects, judged against the
cluster's intent.

Pure: it reads the probes' plain dicts (live or from a recording) and the facts the engine
computed from the cluster objects, and returns node results and findings. No sockets, no
files; chain verification uses the verdict the TLS probe recorded, or (for hand-written
recordings) the --ca-bundle roots given in the facts.

Specificity (for the engine's root-cause choice): 10 a generic symptom, 20 a layer-level
finding, 30 a specific cause. Severities are the catalog's defaults, adjusted where the
evidence shows users are not (yet) affected; each adjustment is commented.
"""

from __future__ import annotations

from typing import Any

from edgedoctor.diagnosis.edgefacts import EdgeFacts
from edgedoctor.diagnosis.world_acme import AcmeAnalysis, caa_allows
from edgedoctor.diagnosis.world_dns import DnsAnalysis
from edgedoctor.diagnosis.world_http import EdgeAnalysis
from edgedoctor.diagnosis.world_tls import ServedAnalysis
from edgedoctor.diagnosis.worldkit import WorldOutcome, parse_registry, txt_strings

__all__ = ["EdgeFacts", "WorldOutcome", "analyze_world", "caa_allows", "parse_registry", "txt_strings"]


class _Analysis(DnsAnalysis, ServedAnalysis, AcmeAnalysis, EdgeAnalysis):
    """The probes' layer: each part in its module, one state (WorldBase)."""


def analyze_world(
    dns: dict[str, Any] | None,
    tls: list[dict[str, Any]] | None,
    http: list[dict[str, Any]] | None,
    facts: EdgeFacts,
) -> WorldOutcome:
    """Judge the probes' evidence against the cluster's intent (pure)."""
    a = _Analysis(dns, tls, http, facts)
    a.guard("dns", a.analyze_dns)
    a.guard("served-certificate", a.analyze_served)
    a.guard("challenge", a.analyze_caa)
    a.guard("challenge", a.analyze_challenges)
    a.guard("http-redirect", a.analyze_redirect)
    a.guard("load-balancer", a.analyze_proxy)
    a.guard("served-certificate", a.finish)
    return WorldOutcome(nodes=a.nodes, findings=a.findings)
