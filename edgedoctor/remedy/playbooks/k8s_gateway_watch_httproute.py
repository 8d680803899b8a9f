"""Steps of k8s-gateway-watch-httproute: the Corefile's k8s_gateway resources, the one it lacks,
and the restart that reloads it.
"""

from __future__ import annotations

import re
from typing import Any

from edgedoctor.diagnosis.index import (
    Obj,
    as_dict,
    name_of,
    ns_of,
)
from edgedoctor.remedy import changes as C
from edgedoctor.remedy import gitops
from edgedoctor.remedy.context import Expansion, PlanContext, obj_ref
from edgedoctor.remedy.errors import NotApplicable
from edgedoctor.remedy.playbooks.common import read_of, restart_of

# ---------------------------------------------------------------- k8s_gateway


_BLOCK = re.compile(r"(k8s_gateway\s+([^{\n]*)\{)([^}]*)(\})", re.S)


def _k8s_gateway(pc: PlanContext) -> list[tuple[Any, Obj, str]]:
    out = []
    for kg in pc.ctx.controllers.get("k8s-gateway") or []:
        for cm in pc.idx.in_namespace("ConfigMap", kg.namespace):
            text = as_dict(cm.get("data")).get("Corefile")
            if isinstance(text, str) and "k8s_gateway" in text:
                out.append((kg, cm, text))
                break
    if out:
        pc.values.update(k8s_gateway_namespace=out[0][0].namespace, k8s_gateway=out[0][0].name)
    return out


def read_k8s_gateway(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    found = _k8s_gateway(pc)
    return [Expansion(target=", ".join(obj_ref(cm) for _, cm, _ in found) or None,
                      reads=[read_of(cm, ["data.Corefile (k8s_gateway block: resources)"]) for _, cm, _ in found])]


def new_corefile(text: str, host: str, kind: str) -> str | None:
    from edgedoctor.diagnosis.dnssync import DEFAULT_RESOURCES_FORK, domain_matches

    def fix(m: re.Match[str]) -> str:
        zones = [z.strip().rstrip(".").lower() for z in m.group(2).split() if z.strip()]
        if not any(domain_matches(host, z) for z in zones):
            return m.group(0)
        body = m.group(3)
        lines = body.split("\n")
        for j, line in enumerate(lines):
            parts = line.split()
            if parts and parts[0] == "resources":
                if kind in parts[1:]:
                    return m.group(0)
                lines[j] = line.rstrip() + f" {kind}"
                return m.group(1) + "\n".join(lines) + m.group(4)
        indent = next((ln[: len(ln) - len(ln.lstrip())] for ln in lines if ln.strip()), "    ")
        add = f"\n{indent}resources {' '.join([*DEFAULT_RESOURCES_FORK, kind])}"
        return m.group(1) + add + body + m.group(4)

    out = _BLOCK.sub(fix, text)
    return None if out == text else out


def k8s_gateway_add_resource(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    found = _k8s_gateway(pc)
    if not found:
        raise NotApplicable("no k8s_gateway with a Corefile ConfigMap was found")
    if pc.ctx.route is None:
        raise NotApplicable(f"no route serves {pc.host}")
    kind = str(pc.ctx.route.get("kind") or "HTTPRoute")
    out = []
    for kg, cm, text in found:
        new = new_corefile(text, pc.host, kind)
        x = Expansion(target=obj_ref(cm), values={"k8s_gateway_namespace": kg.namespace, "k8s_gateway": kg.name})
        if new is None:
            x.satisfied = f"the k8s_gateway block for {pc.host} in ConfigMap {name_of(cm)} already watches {kind}"
        else:
            ops = [{"op": "test", "path": "/data/Corefile", "value": text},
                   {"op": "replace", "path": "/data/Corefile", "value": new}]
            x.change = C.patch(cm, ops, patch_type="json", expect=[{"path": ["data", "Corefile"], "equals": new}],
                               fields=[f"data.Corefile: k8s_gateway resources += {kind}"])
            x.command = (f"kubectl -n {ns_of(cm)} edit configmap {name_of(cm)}   # in the k8s_gateway block: "
                         + next((ln.strip() for ln in new.splitlines() if ln.strip().startswith("resources")), f"resources ... {kind}"))
            msg, snip = gitops.note(cm, snippet=gitops.fragment(cm, {"data": {"Corefile": new}}),
                                    helm_values={"watchedResources": _resources_after(new, pc.host)})
            x.gitops, x.git_snippet = msg, snip
            x.explain = (f"k8s_gateway {kg.namespace}/{kg.name} then answers for {kind} hostnames; its ClusterRole must "
                         f"allow list/watch on {kind.lower()}s and gateways (the chart adds them for watchedResources).")
        pc.memo.setdefault("k8s_gateway_changed", []).append((kg, cm, new or text))
        out.append(x)
    return out


def _resources_after(text: str, host: str) -> list[str]:
    from edgedoctor.diagnosis.dnssync import domain_matches, parse_corefile

    for b in parse_corefile(text):
        if any(domain_matches(host, z) for z in b["zones"]):
            return list(b["resources"] or [])
    return []


def restart_k8s_gateway(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    out = []
    for kg, _cm, text in pc.memo.get("k8s_gateway_changed", []):
        if re.search(r"^\s*reload\b", text, re.M):
            pc.notes.append(f"the Corefile of k8s_gateway {kg.namespace}/{kg.name} has the reload plugin: it picks up "
                            "the change within a minute or two (ConfigMap volume sync, then reload)")
            continue
        out.append(restart_of(pc, kg.deployment))
    return out
