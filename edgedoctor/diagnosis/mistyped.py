"""After the layers ran: an object on the host's path (or one that could be on it, had the
field been right) with a field of the wrong type (`fieldtypes.wrong_fields`) turns its
node `unknown`, naming the object and the field. Its own module because it needs the
layers' context, which the index (the user of `fieldtypes`) must not import.
"""

from __future__ import annotations

from edgedoctor.diagnosis.context import Ctx
from edgedoctor.diagnosis.fieldtypes import NODE_OF_KIND, SCHEMAS
from edgedoctor.diagnosis.hostnames import gw_matches, san_covers
from edgedoctor.diagnosis.index import Obj, as_dict, as_list, name_of, ns_of, spec


def _could_serve_host(ctx: Ctx, obj: Obj) -> bool:
    """Whether an object could be on the host's path: the fields that tell are either right
    and say yes, or wrong and cannot say no."""
    kind = obj.get("kind")
    s = obj.get("spec")
    if not isinstance(s, dict):
        return kind in ("Gateway", "HTTPRoute", "Certificate")
    if kind == "HTTPRoute":
        names = s.get("hostnames")
        if not isinstance(names, list):
            return True
        return not names or any(not isinstance(h, str) or gw_matches(h.lower(), ctx.host) for h in names)
    if kind == "Gateway":
        ls = s.get("listeners")
        if not isinstance(ls, list):
            return True
        return any(not isinstance(x, dict) or not isinstance(x.get("hostname"), (str, type(None)))
                   or gw_matches((x.get("hostname") or "").lower() or None, ctx.host) for x in ls)
    if kind == "Certificate":
        names = s.get("dnsNames")
        sec = s.get("secretName")
        if (ctx.secret_ref is not None and ns_of(obj) == ctx.secret_ref[0]
                and (not isinstance(sec, str) or sec == ctx.secret_ref[1])):
            return True
        if not isinstance(names, list):
            return ctx.secret_ref is None
        return any(isinstance(h, str) and san_covers(h, ctx.host) for h in names)
    return False


def _on_path(ctx: Ctx, obj: Obj) -> bool:
    for chosen in (ctx.gatewayclass, ctx.gateway, ctx.route, ctx.certificate, ctx.secret, *ctx.challenges):
        if chosen is obj:
            return True
    kind = obj.get("kind")
    if kind in ("Gateway", "HTTPRoute", "Certificate"):
        return _could_serve_host(ctx, obj)
    if kind == "Secret" and ctx.secret_ref is not None:
        return (ns_of(obj), name_of(obj)) == ctx.secret_ref
    if kind == "Service" and ctx.route is not None:
        rns = ns_of(ctx.route)
        for rule in as_list(spec(ctx.route).get("rules")):
            for b in as_list(as_dict(rule).get("backendRefs")):
                b = as_dict(b)
                if b.get("name") == name_of(obj) and (b.get("namespace") or rns) == ns_of(obj):
                    return True
        return False
    if kind in ("CertificateRequest", "Order", "Challenge") and ctx.certificate is not None:
        # cert-manager names them `<certificate>-<hash>[-<hash>...]`.
        return ns_of(obj) == ns_of(ctx.certificate) and name_of(obj).startswith(name_of(ctx.certificate) + "-")
    return False


def mark_mistyped(ctx: Ctx) -> None:
    """Turn the node of each mistyped object on the host's path `unknown`, naming the field."""
    per_node: dict[str, list[str]] = {}
    for kind in SCHEMAS:
        for obj, bad in ctx.idx.mistyped(kind):
            if not _on_path(ctx, obj):
                continue
            where = f"{kind} {ns_of(obj) + '/' if ns_of(obj) else ''}{name_of(obj) or '(no name)'}"
            per_node.setdefault(NODE_OF_KIND[kind], []).append(f"{where}: {'; '.join(bad[:3])}")
    for node, problems in per_node.items():
        more = f" (and {len(problems) - 1} more object(s))" if len(problems) > 1 else ""
        ctx.set_node(node, "unknown", f"cannot judge the {node}: {problems[0]}{more}",
                     mistyped_fields=problems)
        # What the layers concluded from that object is a guess: it is not reported.
        ctx.findings = [f for f in ctx.findings if f.node != node]
