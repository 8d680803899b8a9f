"""Steps of external-dns-watch-httproute: external-dns' sources and the one it lacks.
"""

from __future__ import annotations

from typing import Any

from edgedoctor.diagnosis.index import (
    as_dict,
    as_list,
    spec,
)
from edgedoctor.remedy import changes as C
from edgedoctor.remedy import gitops
from edgedoctor.remedy.context import Expansion, PlanContext, obj_ref
from edgedoctor.remedy.errors import NotApplicable
from edgedoctor.remedy.playbooks.common import read_of

# ---------------------------------------------------------------- external-dns


def read_external_dns(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    eds = pc.ctx.controllers.get("external-dns") or []
    if eds:
        pc.values.update(external_dns_namespace=eds[0].namespace, external_dns=eds[0].name)
    return [Expansion(target=", ".join(obj_ref(c.deployment) for c in eds) or None,
                      reads=[read_of(c.deployment, ["spec.template.spec.containers[*].args (--source, filters)"]) for c in eds])]


def external_dns_add_source(pc: PlanContext, params: dict[str, Any]) -> list[Expansion]:
    from edgedoctor.diagnosis.dnssync import publish_verdict, split_values

    ctx = pc.ctx
    if ctx.route is None or ctx.gateway is None:
        raise NotApplicable(f"no route serves {pc.host}: external-dns has nothing to publish")
    eds = ctx.controllers.get("external-dns") or []
    if not eds:
        raise NotApplicable("external-dns is not deployed")
    want = "gateway-" + str(ctx.route.get("kind") or "HTTPRoute").lower()
    out = []
    for c in eds:
        v = publish_verdict(ctx, c, ctx.route, ctx.gateway)
        others = [b for b in v.blockers if not b.startswith("--source ")]
        sources = split_values(c.flag_values("--source"))
        flag = f"--source={want}"
        containers = as_list(as_dict(as_dict(spec(c.deployment).get("template")).get("spec")).get("containers"))
        i = next((i for i, x in enumerate(containers) if as_dict(x).get("image") == c.image), 0)
        cont = as_dict(containers[i]) if containers else {}
        field = "args" if "args" in cont or "command" not in cont else "command"
        cname = str(cont.get("name") or "external-dns")
        path = ["spec", "template", "spec", "containers", {"name": cname}, field]
        # A JSON patch that appends one item: the container's other args (which the
        # evidence holds redacted) are never written back.
        ops: list[dict[str, Any]] = [{"op": "test", "path": f"/spec/template/spec/containers/{i}/name", "value": cname}]
        if field in cont:
            ops.append({"op": "add", "path": f"/spec/template/spec/containers/{i}/{field}/-", "value": flag})
        else:
            ops.append({"op": "add", "path": f"/spec/template/spec/containers/{i}/{field}", "value": [flag]})
        change = C.patch(c.deployment, ops, patch_type="json", expect=[{"path": path, "contains": flag}],
                         fields=[f"spec.template.spec.containers[name={cname}].{field} += {flag}"])
        msg, snip = gitops.note(c.deployment, snippet=None, helm_values={"sources": sources if want in sources else [*sources, want]})
        x = Expansion(target=obj_ref(c.deployment), change=change, command=C.patch_command(change), gitops=msg, git_snippet=snip,
                      explain=f"external-dns {c.namespace}/{c.name} watches {', '.join(sources) or 'no sources'}. Its "
                              "ClusterRole must allow get/list/watch on gateways, httproutes and namespaces "
                              "(the Helm chart adds them when the source is in `sources`).")
        if want in sources:
            if others:
                raise NotApplicable(f"external-dns {c.namespace}/{c.name} already watches {want}; it does not publish "
                                    f"{pc.host} because " + "; ".join(others))
            x.satisfied = f"external-dns {c.namespace}/{c.name} already has {flag}"
        if others:
            pc.notes.append(f"external-dns {c.namespace}/{c.name} will still not publish {pc.host}: " + "; ".join(others))
        out.append(x)
    return out
