"""How a failed read is told: an entry of ClusterEvidence.errors for a kind that could not
be read, or an unreachable cluster in one line (where it tried, why, what to check)."""

from __future__ import annotations

from typing import Any

from edgedoctor.evidence import ClusterEvidence
from edgedoctor.kinds import BY_KIND, Kind
from edgedoctor.kube.config import Target
from edgedoctor.kube.failures import ApiFailure


def error_entry(target: Target, kind: Kind | str, f: ApiFailure, budget: float, verb: str = "list") -> dict[str, Any]:
    k = kind if isinstance(kind, Kind) else BY_KIND.get(kind)
    name = k.kind if k else str(kind)
    plural = k.plural if k else str(kind)
    if f.what == "timeout":
        return {"kind": name, "status": "error", "reason": f"timed out after {budget:.1f}s"}
    if f.what == "internal":
        return {"kind": name, "status": "error", "reason": f.message}
    if f.what == "connect":
        return {"kind": name, "status": "error", "reason": f"cannot reach the API server at {target.server}: {f.message}"}
    if f.status == 404 and k is not None and verb == "list":
        if k.is_core:
            return {"kind": name, "status": "error",
                    "reason": f"the API server does not serve {plural} ({', '.join(k.versions)})"}
        return {"kind": name, "status": "unknown",
                "reason": f"CRD for {name} ({k.group}) is not installed ({k.provided_by} missing?)"}
    if f.status == 403:
        # verb and resource let the diagnosis name every refused read in one line.
        return {
            "kind": name,
            "status": "unknown",
            "reason": f"forbidden: cannot {verb} {plural} ({f.message})",
            "http_status": 403,
            "verb": verb,
            "resource": f"{plural}.{k.group}" if k is not None and k.group else plural,
        }
    if f.status == 401:
        return {"kind": name, "status": "unknown",
                "reason": f"unauthorized: the API server rejected the credentials ({f.message or '401'})"}
    return {"kind": name, "status": "error", "reason": f"API error {f.status}: {f.message or 'no message'}"}


def credential_note(target: Target) -> str:
    notes = getattr(target, "notes", ())
    return f"; the credential plugin failed: {notes[0]}" if notes else ""


def unreachable(target: Target, why: str, reason: str | None = None) -> ClusterEvidence:
    """The evidence of a cluster that could not be read at all."""
    if reason is None:
        ctx = f" (context '{target.context}')" if target.context else ""
        hint = f"kubectl cluster-info --context {target.context}" if target.context else "kubectl cluster-info"
        reason = (f"cannot reach the API server at {target.server}{ctx}: {why}{credential_note(target)}; "
                  f"check the VPN or `{hint}`")
    return ClusterEvidence(reachable=False, context=target.context, cluster=target.cluster,
                           errors=[{"kind": "*", "status": "unknown", "reason": reason}])


def not_kubernetes(target: Target, why: str) -> ClusterEvidence:
    where = f" (context '{target.context}')" if target.context else ""
    return unreachable(target, "", f"the server at {target.server}{where} is not a Kubernetes API server ({why}); "
                                   "check the kubeconfig's server URL")


def rejected(target: Target) -> ClusterEvidence:
    return unreachable(target, "", f"the API server at {target.server} rejected the credentials of "
                                   f"context '{target.context}' (401 Unauthorized)" + credential_note(target))
