"""A sweep's outputs: a table for people, JSON (the contract's sweep document), Prometheus
text through prometheus_client, JUnit XML for CI systems. Pure: results in, text out."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any, TextIO

from edgedoctor.fleet.summary import summary
from edgedoctor.model import SCHEMA_VERSION
from edgedoctor.output.text import VERDICT, one_line

VERDICT_VALUE = {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}


def host_dict(r: Any) -> dict[str, Any]:
    """A host's object of the sweep document: its context, then exactly check's JSON."""
    return {"context": r.context, **r.diagnosis.to_dict()}


class JsonWriter:
    """The contract's sweep document, written as the hosts come (one host per line), so
    10,000 hosts never sit in memory as objects or text."""

    def __init__(self, out: TextIO, generated_at: str, contexts: list[Any]) -> None:
        self.out = out
        self.n = 0
        head = {
            "schema_version": SCHEMA_VERSION,
            "kind": "sweep",
            "generated_at": generated_at,
            "contexts": [{"context": c.context, "source": c.source, "unknown_reasons": c.unknown_reasons}
                         for c in contexts],
        }
        out.write(json.dumps(head, indent=1, ensure_ascii=False)[:-2] + ',\n "hosts": [')

    def host(self, r: Any) -> None:
        self.out.write(("," if self.n else "") + "\n  " + json.dumps(host_dict(r), ensure_ascii=False))
        self.n += 1

    def finish(self, result: Any) -> None:
        tail = json.dumps(summary(result), indent=1, ensure_ascii=False).replace("\n", "\n ")
        self.out.write(("\n ]" if self.n else "]") + ',\n "summary": ' + tail)
        drift = drift_list(result)
        if drift is not None:
            self.out.write(',\n "drift": ' + json.dumps(drift, indent=1, ensure_ascii=False).replace("\n", "\n "))
        self.out.write("\n}\n")


def drift_list(result: Any) -> list[dict[str, Any]] | None:
    """Each transferred zone's drift, labelled by context; None when no transfer was asked."""
    if all(c.drift is None for c in result.contexts):
        return None
    return [{"context": c.context, **z} for c in result.contexts for z in c.drift or []]


# ------------------------------------------------------------------------- table


def _row(h: Any, show_summary: bool) -> list[str]:
    days = h.days_left
    if h.code and show_summary:
        text = h.message or ""
    elif h.code:
        text = "(the Gateway's common cause, above)"
    elif h.verdict == "unknown":
        text = h.unknown_reasons[0] if h.unknown_reasons else "state could not be established"
    else:
        text = "works end to end"
    return [h.host, h.context or "-", VERDICT[h.verdict], h.category or "-", h.code or "-",
            "-" if days is None else str(math.floor(days)), one_line(text)]  # rounded down, as timefmt.time_left


def render_table(result: Any, width: int = 160) -> str:
    """Hosts grouped by context and Gateway; a Gateway whose hosts mostly share a root
    cause gets that cause once, above its hosts."""
    s = summary(result)
    grouped = {(g["context"] or "", g["gateway"]): g for g in s["groups"]}
    lines: list[str] = []
    for c in result.contexts:
        for why in c.unknown_reasons:
            lines.append(f"UNKNOWN context {c.context or '-'}: {one_line(why)}")
    header = ["HOST", "CONTEXT", "VERDICT", "CATEGORY", "CODE", "CERT-DAYS", "SUMMARY"]
    sections: dict[tuple[str, str], list[Any]] = {}
    for h in result.hosts:
        sections.setdefault((h.context or "", h.gateway or "(no Gateway)"), []).append(h)
    rows: list[tuple[str | None, list[str]]] = []
    for key in sorted(sections):
        g = grouped.get(key)
        context, gw = key
        where = f"Gateway {gw}" + (f" ({context})" if context else "")
        if g:
            first = next(h for h in sections[key] if h.code == g["code"])
            rows.append((f"{where}: {len(g['hosts'])} of {g['gateway_hosts']} hosts {VERDICT[g['verdict']]} "
                         f"{first.category or '-'} {g['code']}: {one_line(first.message or '')}", []))
        else:
            rows.append((where, []))
        for h in sections[key]:
            rows.append((None, _row(h, show_summary=not (g and h.code == g["code"]))))
    widths = [len(x) for x in header]
    for _, r in rows:
        for i, cell in enumerate(r[:-1]):
            widths[i] = max(widths[i], len(cell))

    def fmt(r: list[str]) -> str:
        text = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r[:-1])) + "  " + r[-1]
        return text if len(text) <= width else text[: width - 3] + "..."

    lines.append(fmt(header))
    for title, r in rows:
        lines.append(title if title is not None else fmt(r))
    lines.append(f"{len(result.hosts)} hosts: {s['ok']} ok, {s['warning']} warning, {s['critical']} critical, {s['unknown']} unknown")
    for z in drift_list(result) or []:
        where = f"zone {z['zone']}" + (f" ({z['context']})" if z["context"] else "")
        if z["transfer"] != "ok":
            lines.append(f"DNS drift: {where}: no zone transfer ({z['transfer']}): {one_line(z['error'] or '')}")
            continue
        lines.append(f"DNS drift: {where} from {z['server']}: {len(z['orphans'])} orphaned, {len(z['unowned'])} unowned")
        for o in z["orphans"]:
            gone = " (gone from the cluster)" if o["resource_exists"] is False else ""
            recs = ", ".join(f"{r['type']} {r['value']}" for r in o["records"]) or "no record left"
            lines.append(f"  orphan   {o['name'] or o['txt']}: owned by {z['owner_id']} for {o['resource'] or '?'}{gone}; {recs}")
        for u in z["unowned"]:
            recs = ", ".join(f"{r['type']} {r['value']}" for r in u["records"])
            via = f" through {u['via_wildcard']}" if u["via_wildcard"] else ""
            lines.append(f"  unowned  {u['name']}{via}: {recs} (no external-dns owner: it shadows the route)")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------- prometheus


class SweepCollector:
    """The contract's metrics of one sweep, for prometheus_client's exposition."""

    def __init__(self, result: Any) -> None:
        self.result = result

    def describe(self) -> list[Any]:
        return []  # collected on demand: the sweep changes between scrapes

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily as G

        hl = ["context", "host"]
        verdict = G("edgedoctor_host_verdict", "The host's verdict: 0 ok, 1 warning, 2 critical, 3 unknown",
                    labels=hl + ["category", "code", "gateway"])
        served = G("edgedoctor_served_certificate_expiry_timestamp_seconds",
                   "notAfter of the certificate the edge serves for the host (earliest leaf)", labels=hl)
        renewal = G("edgedoctor_certificate_renewal_timestamp_seconds",
                    "status.renewalTime of the host's cert-manager Certificate", labels=hl)
        points = G("edgedoctor_dns_points_to_gateway",
                   "1 when every DNS server that answered gave the Gateway's address", labels=hl)
        duration = G("edgedoctor_check_duration_seconds", "Time this host's probes and diagnosis took", labels=hl)
        swept = G("edgedoctor_sweep_timestamp_seconds", "When the context's sweep finished", labels=["context"])
        up = G("edgedoctor_context_up", "1 when the context's cluster could be read", labels=["context"])
        for c in self.result.contexts:
            swept.add_metric([c.context or ""], c.finished)
            up.add_metric([c.context or ""], 0 if c.unknown_reasons else 1)
        for h in self.result.hosts:
            lab = [h.context or "", h.host]
            verdict.add_metric(lab + [h.category or "", h.code or "", h.gateway or ""], VERDICT_VALUE[h.verdict])
            if h.served_expiry is not None:
                served.add_metric(lab, h.served_expiry)
            if h.renewal is not None:
                renewal.add_metric(lab, h.renewal)
            if h.dns_points is not None:
                points.add_metric(lab, 1 if h.dns_points else 0)
            duration.add_metric(lab, round(h.duration, 6))
        yield from (verdict, served, renewal, points, duration, swept, up)
        drift = drift_list(self.result)
        if drift is not None:
            zl = ["context", "zone"]
            xfr = G("edgedoctor_zone_transfer_ok", "1 when the zone's authoritative server allowed a transfer", labels=zl)
            orphans = G("edgedoctor_dns_orphan_records", "Records this cluster's external-dns owns for names nothing wants", labels=zl)
            unowned = G("edgedoctor_dns_unowned_records", "Records without an owner at names a route wants", labels=zl)
            for z in drift:
                lab = [z["context"] or "", z["zone"]]
                xfr.add_metric(lab, 1 if z["transfer"] == "ok" else 0)
                if z["transfer"] == "ok":
                    orphans.add_metric(lab, len(z["orphans"]))
                    unowned.add_metric(lab, len(z["unowned"]))
            yield from (xfr, orphans, unowned)


def metrics_registry(result: Any) -> Any:
    from prometheus_client import CollectorRegistry

    reg = CollectorRegistry(auto_describe=False)
    reg.register(SweepCollector(result))
    return reg


def render_prometheus(result: Any) -> str:
    from prometheus_client import generate_latest

    return generate_latest(metrics_registry(result)).decode("utf-8")


# ------------------------------------------------------------------------- junit


def render_junit(result: Any) -> str:
    """One testsuite per context, one testcase per host: critical is a failure, unknown an
    error; a warning passes (the host works) and says why in system-out."""
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name="edgedoctor sweep")
    by_ctx: dict[str, list[Any]] = {}
    for c in result.contexts:
        by_ctx.setdefault(c.context or "", [])
    for h in result.hosts:
        by_ctx.setdefault(h.context or "", []).append(h)
    unreadable = {c.context or "": c.unknown_reasons for c in result.contexts if c.unknown_reasons}
    for ctx, hosts in by_ctx.items():
        suite = ET.SubElement(root, "testsuite", name=f"edgedoctor sweep {ctx or '(snapshot)'}")
        fails = errors = 0
        if ctx in unreadable:
            case = ET.SubElement(suite, "testcase", name="cluster read", classname=ctx or "snapshot")
            ET.SubElement(case, "error", message=one_line("; ".join(unreadable[ctx])), type="unknown")
            errors += 1
        for h in hosts:
            case = ET.SubElement(suite, "testcase", name=h.host, classname=f"{ctx or 'snapshot'}.{h.gateway or 'no-gateway'}",
                                 time=f"{h.duration:.3f}")
            if h.verdict == "critical" and h.code:
                f = ET.SubElement(case, "failure", message=one_line(f"{h.code}: {h.message or ''}"), type=h.code)
                f.text = "\n".join(f"{sev} {code}: {one_line(msg)}" for sev, code, msg in h.findings)
                fails += 1
            elif h.verdict == "unknown":
                ET.SubElement(case, "error", message=one_line("; ".join(h.unknown_reasons) or "unknown"), type="unknown")
                errors += 1
            elif h.verdict == "warning" and h.code:
                out = ET.SubElement(case, "system-out")
                out.text = one_line(f"WARNING {h.code}: {h.message or ''}")
        n = len(hosts) + (1 if ctx in unreadable else 0)
        suite.set("tests", str(n))
        suite.set("failures", str(fails))
        suite.set("errors", str(errors))
    for z in drift_list(result) or []:
        suite = root.find(f"testsuite[@name='edgedoctor sweep {z['context'] or '(snapshot)'}']")
        if suite is None:
            continue
        case = ET.SubElement(suite, "testcase", name=f"zone {z['zone']}", classname=f"{z['context'] or 'snapshot'}.dns-drift")
        suite.set("tests", str(int(suite.get("tests", "0")) + 1))
        if z["orphans"] or z["unowned"]:
            ET.SubElement(case, "failure", type="dns-drift",
                          message=f"{len(z['orphans'])} orphaned, {len(z['unowned'])} unowned records")
            suite.set("failures", str(int(suite.get("failures", "0")) + 1))
        elif z["transfer"] != "ok":
            ET.SubElement(case, "skipped", message=one_line(z["error"] or z["transfer"]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
