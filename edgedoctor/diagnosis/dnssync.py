"""What the objects say about DNS sync: would external-dns publish the host, and
would the in-cluster split-horizon DNS (k8s_gateway) answer for it?

These are predictions from Deployments' args and the route's annotations; the
DNS probe says what the servers actually answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from edgedoctor.diagnosis import commands as cmd
from edgedoctor.diagnosis.context import Ctx
from edgedoctor.diagnosis.controllers import Controller
from edgedoctor.diagnosis.index import (
    Obj,
    annotations_of,
    as_dict,
    as_list,
    labels,
    name_of,
    ns_of,
    spec,
)
from edgedoctor.diagnosis.routes import route_hostnames


@dataclass
class PublishVerdict:
    controller: Controller
    blockers: list[str] = field(default_factory=list)

    @property
    def publishes(self) -> bool:
        return not self.blockers


def split_values(values: list[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        out.extend(x.strip().lower().rstrip(".") for x in v.split(",") if x.strip())
    return out


def domain_matches(host: str, domain: str) -> bool:
    domain = domain.lstrip(".")
    return host == domain or host.endswith("." + domain)


_REQ = re.compile(r"^\s*(!)?\s*([A-Za-z0-9_./-]+)\s*(?:(==|=|!=)\s*(\S*)|\s+(in|notin)\s*\(([^)]*)\))?\s*$")


def selector_matches(expr: str, values: dict[str, str]) -> bool | None:
    """Kubernetes label-selector semantics, as external-dns's --annotation-filter uses.

    None when the expression cannot be parsed.
    """
    parts = re.split(r",(?![^(]*\))", expr)
    for part in parts:
        if not part.strip():
            continue
        m = _REQ.match(part)
        if not m:
            return None
        neg, key, op, val, setop, setvals = m.groups()
        if op in ("=", "=="):
            ok = values.get(key) == val
        elif op == "!=":
            ok = values.get(key) != val
        elif setop:
            members = {s.strip() for s in setvals.split(",")}
            ok = (values.get(key) in members) if setop == "in" else (values.get(key) not in members)
        else:
            ok = key in values
            if neg:
                ok = not ok
        if not ok:
            return False
    return True


def annotation_prefix(c: Controller) -> str:
    explicit = c.flag("--annotation-prefix")
    if explicit:
        return explicit
    if c.version is not None and c.version >= (0, 22, 0):
        return "external-dns.kubernetes.io/"
    return "external-dns.alpha.kubernetes.io/"


def publish_verdict(ctx: Ctx, c: Controller, route: Obj, gw: Obj) -> PublishVerdict:
    v = PublishVerdict(c)
    host = ctx.host
    kind = str(route.get("kind") or "HTTPRoute")
    want = "gateway-" + kind.lower()
    sources = split_values(c.flag_values("--source"))
    if want not in sources:
        v.blockers.append(f"--source does not include {want} (sources: {', '.join(sources) or 'none'})")
    domains = split_values(c.flag_values("--domain-filter"))
    if domains and not any(domain_matches(host, d) for d in domains):
        v.blockers.append(f"--domain-filter {','.join(domains)} excludes {host}")
    for d in split_values(c.flag_values("--exclude-domains")):
        if domain_matches(host, d):
            v.blockers.append(f"--exclude-domains {d} excludes {host}")
    for rx in c.flag_values("--regex-domain-filter"):
        try:
            if not re.search(rx, host):
                v.blockers.append(f"--regex-domain-filter {rx} excludes {host}")
        except re.error:
            pass
    nsf = c.flag("--namespace")
    if nsf and nsf != ns_of(route):
        v.blockers.append(f"--namespace={nsf} does not watch the route's namespace {ns_of(route)}")
    af = c.flag("--annotation-filter")
    if af:
        ok = selector_matches(af, annotations_of(route))
        if ok is False:
            v.blockers.append(f"--annotation-filter {af!r} excludes the route (its annotations do not match)")
    lf = c.flag("--label-filter")
    if lf:
        ok = selector_matches(lf, labels(route))
        if ok is False:
            v.blockers.append(f"--label-filter {lf!r} excludes the route")
    gname = c.flag("--gateway-name")
    if gname and gname != name_of(gw):
        v.blockers.append(f"--gateway-name={gname} excludes Gateway {name_of(gw)}")
    gns = c.flag("--gateway-namespace")
    if gns and gns != ns_of(gw):
        v.blockers.append(f"--gateway-namespace={gns} excludes Gateway namespace {ns_of(gw)}")
    glf = c.flag("--gateway-label-filter")
    if glf and selector_matches(glf, labels(gw)) is False:
        v.blockers.append(f"--gateway-label-filter {glf!r} excludes Gateway {name_of(gw)}")
    prefix = annotation_prefix(c)
    ann = annotations_of(route)
    controller = ann.get(prefix + "controller")
    if controller and controller != "dns-controller":
        v.blockers.append(f"route annotation {prefix}controller={controller} tells external-dns to ignore it")
    if not route_hostnames(route) and not ann.get(prefix + "hostname"):
        # The listener hostname is used instead; fine unless it is empty.
        ls = ctx.listener
        if ls is not None and not ls.hostname:
            v.blockers.append("the route has no hostnames and the listener none either")
    other_prefixes = {"external-dns.alpha.kubernetes.io/", "external-dns.kubernetes.io/"} - {prefix}
    stray = [k for k in ann if any(k.startswith(p) for p in other_prefixes)]
    if stray and not v.blockers:
        ctx.notes.append(
            f"the route carries {', '.join(stray)}, which external-dns {c.version_text or ''} ignores "
            f"(it reads the {prefix} prefix)"
        )
    return v


def diagnose_external_dns(ctx: Ctx) -> list[str]:
    """Adds external-dns findings; returns the reasons it will not publish the host."""
    idx = ctx.idx
    route, gw = ctx.route, ctx.gateway
    if route is None or gw is None or not idx.was_read("Deployment"):
        return []
    if not ctx.expected_addresses or not ctx.route_accepted:
        # An upstream layer is the broken link; external-dns has nothing to publish yet.
        return []
    eds = ctx.controllers.get("external-dns") or []
    dns_ok = _dns_answers_expected(ctx)
    if not eds:
        # Many edges manage DNS by other means: only the DNS answer can make this a fault
        # (the probe's dns-no-record then names this reason).
        ctx.add(
            "external-dns-down",
            "external-dns is not deployed: nothing in the cluster publishes the route's hostname"
            + (" (the record exists, published by other means)" if dns_ok else ""),
            severity="info",
            evidence={"deployments_read": True},
            commands=[cmd.deployments_by_image("external-dns")],
        )
        return ["external-dns is not deployed"]
    _target_prefix_mismatch(ctx, eds, gw, dns_ok)
    verdicts = [publish_verdict(ctx, c, route, gw) for c in eds]
    publishing = [v for v in verdicts if v.publishes]
    if publishing:
        down = [v for v in publishing if not v.controller.available]
        if down and len(down) == len(publishing):
            c = down[0].controller
            ctx.add(
                "external-dns-down",
                f"external-dns Deployment {c.namespace}/{c.name} is not available, so the record for {ctx.host} is not kept in sync",
                severity="warning" if dns_ok else "critical",
                evidence={"deployment": f"{c.namespace}/{c.name}", "image": c.image},
                commands=[f"kubectl -n {c.namespace} get deploy {c.name}", cmd.logs(c.namespace, c.name)],
            )
            return [f"external-dns {c.namespace}/{c.name} is not available"]
        return []
    reasons = [f"{v.controller.namespace}/{v.controller.name}: {b}" for v in verdicts for b in v.blockers]
    if not dns_ok and ctx.probed_dns is None:
        c = verdicts[0].controller
        ctx.add(
            "dns-no-record",
            f"external-dns will not publish {ctx.host}: " + "; ".join(reasons),
            evidence={"reasons": reasons, "expected_addresses": ctx.expected_addresses},
            commands=[
                f"kubectl -n {c.namespace} get deploy {c.name} -o jsonpath='{{.spec.template.spec.containers[0].args}}'",
                cmd.logs(c.namespace, c.name, ctx.host),
            ],
        )
    return reasons


def _target_prefix_mismatch(ctx: Ctx, eds: list[Controller], gw: Obj, dns_ok: bool) -> None:
    """A target annotation under the prefix this external-dns no longer reads (v0.22.0
    moved the default from external-dns.alpha.kubernetes.io/ to external-dns.kubernetes.io/):
    the records point at the Gateway's status addresses instead."""
    ann = annotations_of(gw)
    for c in eds:
        prefix = annotation_prefix(c)
        if ann.get(prefix + "target"):
            return
        stray = [k for k in ann if k.endswith("/target") and k.startswith("external-dns.") and not k.startswith(prefix)]
        if stray:
            # The expected answer is what the operator meant.
            ctx.expected_addresses = [t.strip() for t in ann[stray[0]].split(",") if t.strip()]
            ctx.expected_from = "target-annotation"
            if ctx.probed_dns is not None:
                return  # the DNS answer itself decides
            status_addrs = [str(a.get("value")) for a in as_list(as_dict(gw.get("status")).get("addresses")) if isinstance(a, dict)]
            ctx.add(
                "dns-wrong-target",
                f"Gateway {ns_of(gw)}/{name_of(gw)} sets {stray[0]}={ann[stray[0]]}, but external-dns "
                f"{c.version_text or ''} reads the {prefix} prefix, so it publishes the status addresses "
                f"{', '.join(status_addrs) or '(none)'} instead",
                evidence={"annotation": stray[0], "value": ann[stray[0]], "read_prefix": prefix,
                          "published_instead": status_addrs, "external_dns": f"{c.namespace}/{c.name}"},
                commands=[f"kubectl -n {ns_of(gw)} get gateway {name_of(gw)} -o jsonpath='{{.metadata.annotations}}'",
                          cmd.dig(ctx.host, "A", options=("+short",))],
            )
            return


def _dns_answers_expected(ctx: Ctx) -> bool:
    dns = ctx.probed_dns or {}
    want = set(ctx.expected_addresses)
    got: set[str] = set()
    for q in as_list(dns.get("queries")):
        if isinstance(q, dict) and q.get("purpose") == "address" and q.get("role") == "authoritative":
            for rr in as_list(q.get("answer")):
                if isinstance(rr, dict) and rr.get("type") in ("A", "AAAA"):
                    got.add(str(rr.get("value")))
    return bool(got) and (not want or bool(got & want))


# --- k8s_gateway (split-horizon DNS inside the network) -----------------------

_BLOCK = re.compile(r"k8s_gateway\s+([^{\n]*)\{([^}]*)\}", re.S)
_ORI_EDGE = re.compile(r"ori-?edge", re.I)
ALL_RESOURCES_ORI = ["HTTPRoute", "TLSRoute", "GRPCRoute", "VirtualServer", "Ingress", "Service"]
DEFAULT_RESOURCES_FORK = ["Ingress", "Service"]


def parse_corefile(text: str) -> list[dict[str, Any]]:
    out = []
    for m in _BLOCK.finditer(text):
        zones = [z.strip().rstrip(".").lower() for z in m.group(1).split() if z.strip()]
        resources = None
        for line in m.group(2).splitlines():
            parts = line.split()
            if parts and parts[0] == "resources":
                resources = parts[1:]
        out.append({"zones": zones, "resources": resources})
    return out


def diagnose_k8s_gateway(ctx: Ctx) -> None:
    kgs = ctx.controllers.get("k8s-gateway") or []
    if not kgs or ctx.route is None:
        return
    for kg in kgs:
        corefiles = [
            str(as_dict(cm.get("data")).get("Corefile"))
            for cm in ctx.idx.in_namespace("ConfigMap", kg.namespace)
            if "k8s_gateway" in str(as_dict(cm.get("data")).get("Corefile", ""))
        ]
        if not corefiles:
            ctx.notes.append(f"k8s_gateway {kg.namespace}/{kg.name} runs, but its Corefile was not read")
            continue
        for block in parse_corefile(corefiles[0]):
            if not any(domain_matches(ctx.host, z) for z in block["zones"]):
                continue
            res = block["resources"]
            fork = not _ORI_EDGE.search(kg.image)
            effective = res if res is not None else (DEFAULT_RESOURCES_FORK if fork else ALL_RESOURCES_ORI)
            kind = str(ctx.route.get("kind") or "HTTPRoute")
            problems = []
            if kind not in effective:
                problems.append(
                    f"it watches {', '.join(effective)}"
                    + (" (the default when no resources line is set)" if res is None else "")
                    + f", not {kind}"
                )
            elif not route_hostnames(ctx.route):
                problems.append(f"{kind} {ns_of(ctx.route)}/{name_of(ctx.route)} has no spec.hostnames, and k8s_gateway ignores listener hostnames")
            if problems:
                ctx.add(
                    "dns-internal-split-horizon",
                    f"the in-cluster DNS k8s_gateway {kg.namespace}/{kg.name} answers NXDOMAIN for {ctx.host}: " + "; ".join(problems),
                    evidence={"deployment": f"{kg.namespace}/{kg.name}", "image": kg.image, "zones": block["zones"],
                              "resources": res, "effective_resources": effective},
                    commands=[
                        f"kubectl -n {kg.namespace} get configmap -o jsonpath='{{.items[*].data.Corefile}}'",
                        f"kubectl -n {kg.namespace} get svc {kg.name} -o jsonpath='{{.spec.clusterIP}}'  # then: dig @<that IP> {ctx.host}",
                    ],
                )
            return


def route_resource(route: Obj | None) -> str | None:
    if route is None:
        return None
    return f"{str(route.get('kind') or 'HTTPRoute').lower()}/{ns_of(route)}/{name_of(route)}"


def external_dns_registry(ctx: Ctx) -> dict[str, Any] | None:
    eds = ctx.controllers.get("external-dns") or []
    if not eds:
        return None
    c = next((x for x in eds if x.available), eds[0])
    return {
        "owner_id": c.flag("--txt-owner-id") or "default",
        "txt_prefix": c.flag("--txt-prefix") or "",
        "txt_suffix": c.flag("--txt-suffix") or "",
        "wildcard_replacement": c.flag("--txt-wildcard-replacement") or "",
        "registry": c.flag("--registry") or "txt",
        "deployment": f"{c.namespace}/{c.name}",
    }


def cloudflare_proxied_annotation(ctx: Ctx) -> bool | None:
    if ctx.route is None:
        return None
    ann = annotations_of(ctx.route)
    for k, v in ann.items():
        if k.endswith("/cloudflare-proxied"):
            return v.lower() == "true"
    for c in ctx.controllers.get("external-dns") or []:
        if "--cloudflare-proxied" in c.args or c.flag("--cloudflare-proxied") == "true":
            return True
    return None


__all__ = [
    "diagnose_external_dns",
    "diagnose_k8s_gateway",
    "external_dns_registry",
    "route_resource",
    "cloudflare_proxied_annotation",
    "spec",
]
