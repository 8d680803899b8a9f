"""Steps of restart-data-plane: the Envoy Deployments of the Gateway and their restart.
"""

from __future__ import annotations

from typing import Any

from edgedoctor.diagnosis.index import (
    Obj,
    labels,
    name_of,
    ns_of,
)
from edgedoctor.remedy.context import Expansion, PlanContext, obj_ref
from edgedoctor.remedy.playbooks.common import RESTARTED_AT, read_of, restart_of, the_gateway


def envoy_deployments(pc: PlanContext) -> list[Obj]:
    gw = the_gateway(pc)
    return [d for d in pc.idx.all("Deployment")
            if labels(d).get("gateway.envoyproxy.io/owning-gateway-name") == name_of(gw)
            and labels(d).get("gateway.envoyproxy.io/owning-gateway-namespace") == ns_of(gw)]


def read_data_plane(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    deps = envoy_deployments(pc)
    reads = [read_of(d, [f"spec.template.metadata.annotations[\"{RESTARTED_AT}\"]", "status.readyReplicas"]) for d in deps]
    f = pc.finding("cert-stale-served")
    if f is not None:
        pc.notes.append(f"Envoy serves serial {f.evidence.get('serial')} while the Secret holds serial "
                        f"{f.evidence.get('secret_serial')}: Envoy Gateway normally pushes a renewed Secret within "
                        "seconds; check its logs if the restart does not help")
    return [Expansion(target=", ".join(obj_ref(d) for d in deps) or None, reads=reads)]


def restart_envoy(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    gw = the_gateway(pc)
    deps = envoy_deployments(pc)
    if not deps:
        return [Expansion(
            target=f"Envoy Deployment of Gateway {ns_of(gw)}/{name_of(gw)}",
            change=None,
            blocked=("no Deployment labelled gateway.envoyproxy.io/owning-gateway-name="
                     f"{name_of(gw)} was read (Envoy may run as a DaemonSet): restart it by hand"),
            command=("kubectl get deploy,ds -A -l gateway.envoyproxy.io/owning-gateway-name="
                     f"{name_of(gw)},gateway.envoyproxy.io/owning-gateway-namespace={ns_of(gw)}"),
        )]
    return [restart_of(pc, d) for d in deps]
