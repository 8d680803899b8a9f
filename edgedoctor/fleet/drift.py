"""DNS drift across a whole zone (pure): what the cluster wants against what the zone holds.

Each host's own check already compares its name with the zone. A zone transfer shows what
no host check can: records external-dns's TXT registry marks as this cluster's (its
`--txt-owner-id`) for names no route or listener wants any more (orphans: the route was
deleted while external-dns was down, or with `--policy=upsert-only`), and records without
any owner at a name a route wants (unowned: made by hand; external-dns never overwrites
a record it does not own, so the record shadows the route).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from edgedoctor.diagnosis.dnssync import external_dns_registry
from edgedoctor.diagnosis.index import as_list, name_of, ns_of, spec
from edgedoctor.diagnosis.world import parse_registry, txt_strings
from edgedoctor.probes.dns import txt_registry_names

ADDRESS_TYPES = ("A", "AAAA", "CNAME")
_RTYPES = ("a", "aaaa", "cname", "")


def registry_of(controllers: dict[str, Any]) -> dict[str, Any] | None:
    """external-dns's registry settings (owner id, TXT prefix/suffix) as the engine reads them."""
    return external_dns_registry(SimpleNamespace(controllers=controllers))  # type: ignore[arg-type]


def wanted_names(objects: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """(every hostname a route or listener of the cluster names, wildcards included;
    every route as external-dns writes it in `external-dns/resource`)."""
    names: set[str] = set()
    resources: set[str] = set()
    for o in objects:
        kind = o.get("kind")
        if kind in ("HTTPRoute", "GRPCRoute", "TLSRoute"):
            resources.add(f"{str(kind).lower()}/{ns_of(o)}/{name_of(o)}")
            names.update(str(h).lower().rstrip(".") for h in as_list(spec(o).get("hostnames")) if h)
        elif kind == "Gateway":
            for ls in as_list(spec(o).get("listeners")):
                if isinstance(ls, dict) and ls.get("hostname"):
                    names.add(str(ls["hostname"]).lower().rstrip("."))
    return names, resources


def managed_name(txt_name: str, reg: dict[str, Any]) -> tuple[str, str | None] | None:
    """The record a registry TXT name stands for (name, type), checked by mapping it back."""
    prefix, suffix = str(reg.get("txt_prefix") or "").lower(), str(reg.get("txt_suffix") or "").lower()
    wild = str(reg.get("wildcard_replacement") or "").lower()
    first, _, rest = txt_name.partition(".")
    templated = "%{record_type}" in prefix or "%{record_type}" in suffix
    for rtype in _RTYPES:
        pre, suf = prefix.replace("%{record_type}", rtype), suffix.replace("%{record_type}", rtype)
        label = first
        if not label.startswith(pre) or not label.endswith(suf) or len(label) <= len(pre) + len(suf):
            continue
        label = label[len(pre): len(label) - len(suf)]
        if rtype and not templated:
            if not label.startswith(rtype + "-"):
                continue
            label = label[len(rtype) + 1:]
        if wild and label == wild:
            label = "*"
        name = f"{label}.{rest}" if rest else label
        if txt_name in txt_registry_names(name, prefix=prefix, suffix=suffix, wildcard_replacement=wild):
            return name, rtype.upper() or None
    return None


def _zone_of(name: str, zones: list[str]) -> str | None:
    best = None
    for z in zones:
        if (name == z or name.endswith("." + z)) and (best is None or len(z) > len(best)):
            best = z
    return best


def analyze_zone(transfer: dict[str, Any], objects: list[dict[str, Any]], reg: dict[str, Any] | None) -> dict[str, Any]:
    """The drift of one transferred zone: {"zone", "server", "transfer", "error", "owner_id",
    "orphans": [...], "unowned": [...]}."""
    zone = str(transfer.get("zone") or "")
    out: dict[str, Any] = {
        "zone": zone, "server": transfer.get("server"),
        "transfer": "ok" if transfer.get("ok") else (transfer.get("error_kind") or "error"),
        "error": transfer.get("error"), "owner_id": reg.get("owner_id") if reg else None,
        "orphans": [], "unowned": [],
    }
    if not transfer.get("ok"):
        return out
    reg = reg or {}
    prefix, suffix = str(reg.get("txt_prefix") or ""), str(reg.get("txt_suffix") or "")
    wild = str(reg.get("wildcard_replacement") or "")
    records = [r for r in transfer.get("records") or [] if isinstance(r, dict)]
    by_name: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_name.setdefault(str(r.get("name")), []).append(r)
    owners: dict[str, dict[str, str]] = {}  # TXT name -> registry labels
    for r in records:
        if r.get("type") == "TXT":
            labels = parse_registry(txt_strings(str(r.get("value") or "")))
            if labels is not None:
                owners[str(r["name"])] = labels
    wanted, resources = wanted_names(objects)
    wanted_in_zone = sorted(h for h in wanted if _zone_of(h, [zone]) == zone)
    wanted_txt = {t for h in wanted_in_zone for t in txt_registry_names(h, prefix=prefix, suffix=suffix, wildcard_replacement=wild)}

    def addresses(name: str) -> list[dict[str, Any]]:
        return [{"type": r["type"], "value": r["value"], "ttl": r.get("ttl")} for r in by_name.get(name, [])
                if r.get("type") in ADDRESS_TYPES]

    if reg.get("owner_id"):
        for txt, labels in sorted(owners.items()):
            if labels.get("owner") != reg["owner_id"] or txt in wanted_txt:
                continue
            managed = managed_name(txt, reg)
            name, rtype = managed if managed else (None, None)
            res = labels.get("resource")
            out["orphans"].append({
                "txt": txt, "name": name, "type": rtype, "resource": res,
                # external-dns writes the route it published for; gone from the cluster is the usual story.
                "resource_exists": (res in resources) if res else None,
                "records": addresses(name) if name else [],
            })
    for host in wanted_in_zone:
        if host.startswith("*."):
            continue
        names = txt_registry_names(host, prefix=prefix, suffix=suffix, wildcard_replacement=wild)
        if any(n in owners for n in names):
            continue  # someone's registry owns it: the host's own check judges whose
        recs = addresses(host)
        via = None
        if not recs:
            # A wildcard record answers for a name that has none of its own.
            parent = host.partition(".")[2]
            while parent and _zone_of(parent, [zone]) == zone and not recs:
                recs, via = addresses("*." + parent), "*." + parent
                parent = parent.partition(".")[2]
            if not recs:
                continue
            wild_txt = txt_registry_names(via, prefix=prefix, suffix=suffix, wildcard_replacement=wild)
            if any(n in owners for n in wild_txt):
                continue
        out["unowned"].append({"name": host, "via_wildcard": via, "records": recs})
    return out


def zones_to_transfer(dns_results: list[dict[str, Any] | None]) -> dict[str, list[tuple[str, int]]]:
    """zone -> its authoritative servers, from the hosts' DNS probes."""
    out: dict[str, list[tuple[str, int]]] = {}
    for d in dns_results:
        if not isinstance(d, dict) or not d.get("zone"):
            continue
        zone = str(d["zone"]).rstrip(".").lower()
        servers = out.setdefault(zone, [])
        for s in d.get("authoritative_servers") or []:
            if isinstance(s, dict) and s.get("address"):
                key = (str(s["address"]), int(s.get("port") or 53))
                if key not in servers:
                    servers.append(key)
    return out
