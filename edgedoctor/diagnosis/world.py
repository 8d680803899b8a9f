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

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from edgedoctor import pemcerts as _certs
from edgedoctor.cloudflare import cloudflare_range
from edgedoctor.diagnosis.findings import new_finding
from edgedoctor.model import Finding, NodeResult, Status
from edgedoctor.timefmt import parse_rfc3339, time_left

DEFAULT_RENEW_BEFORE = 15 * 24 * 3600
# cert-manager re-checks every 10 s and waits 60 s after the record is seen; five minutes
# of waiting means something is wrong.
DNS01_WAIT_THRESHOLD = 300
REDIRECT_STATUSES = (301, 302, 307, 308)
_UNREACHED = ("timeout", "unreachable", "deadline", "no-address")
_KNOWN_CAA_TAGS = ("issue", "issuewild", "iodef", "issuemail", "issuevmc", "contactemail", "contactphone")


@dataclass
class EdgeFacts:
    host: str
    expected_addresses: list[str] = field(default_factory=list)
    expected_from: str = "none"  # "gateway-status" | "target-annotation" | "none"
    listener_secret_pem: str | None = None
    external_dns: dict[str, Any] | None = None
    route_resource: str | None = None
    acme_challenges: list[dict[str, Any]] = field(default_factory=list)
    proxy_protocol: dict[str, Any] = field(default_factory=dict)
    now: str = ""
    renew_before_seconds: int | None = None
    ca_bundle_pem: str | None = None
    # The route's cloudflare-proxied annotation (or --cloudflare-proxied), when known.
    cloudflare_proxied: bool | None = None


@dataclass
class WorldOutcome:
    nodes: dict[str, NodeResult]
    findings: list[Finding]


# ----------------------------------------------------------------------------- helpers


def _bare(name: str | None) -> str:
    return (name or "").strip().lower().rstrip(".")


def _fqdn(name: str) -> str:
    return _bare(name) + "."


def _norm_target(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return _bare(value)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _split_server(label: str) -> tuple[str, int]:
    if label.startswith("["):
        addr, _, port = label[1:].partition("]:")
        return addr, int(port or 53)
    addr, _, port = label.rpartition(":")
    return (addr, int(port)) if addr and port.isdigit() else (label, 53)


def dig(server: str, name: str, rtype: str, *, recursive: bool = False) -> str:
    addr, port = _split_server(server)
    port_opt = f" -p {port}" if port != 53 else ""
    norec = "" if recursive else " +norecurse"
    qname = _bare(name)
    if "*" in qname:
        qname = f"'{qname}'"  # keep the shell from globbing a wildcard name
    return f"dig @{addr}{port_opt}{norec} {qname} {rtype}"


def _openssl(host: str, address: str, port: int, proxy: bool = False) -> str:
    target = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    # openssl s_client cannot send a PROXY header; curl can (--haproxy-protocol).
    if proxy:
        return f"curl -skv --haproxy-protocol --resolve {host}:{port}:{address} https://{host}:{port}/ -o /dev/null"
    return (
        f"openssl s_client -connect {target} -servername {host} -showcerts </dev/null"
        " | openssl x509 -noout -serial -issuer -subject -dates -ext subjectAltName"
    )


def _curl(host: str, address: str, scheme: str, port: int) -> str:
    default = (scheme == "http" and port == 80) or (scheme == "https" and port == 443)
    url = f"{scheme}://{host}/" if default else f"{scheme}://{host}:{port}/"
    addr = f"[{address}]" if ":" in address else address
    k = "k" if scheme == "https" else ""
    return f"curl -sS{k}I --resolve {host}:{port}:{addr} {url}"


def txt_strings(value: str) -> str:
    """Presentation-format TXT (`"a" "b"`) to its text (`ab`), as registries read it."""
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        if value[i] == '"':
            i += 1
            buf = []
            while i < n and value[i] != '"':
                if value[i] == "\\" and i + 1 < n:
                    nxt = value[i + 1]
                    if nxt.isdigit() and i + 3 < n and value[i + 1 : i + 4].isdigit():
                        buf.append(chr(int(value[i + 1 : i + 4])))
                        i += 4
                        continue
                    buf.append(nxt)
                    i += 2
                    continue
                buf.append(value[i])
                i += 1
            out.append("".join(buf))
            i += 1
        elif value[i].isspace():
            i += 1
        else:
            j = i
            while j < n and not value[j].isspace():
                j += 1
            out.append(value[i:j])
            i = j
    return "".join(out)


def parse_registry(text: str) -> dict[str, str] | None:
    """`heritage=external-dns,external-dns/owner=x,external-dns/resource=y` -> labels."""
    if "heritage=" not in text:
        return None
    labels: dict[str, str] = {}
    for part in text.split(","):
        key, sep, val = part.strip().partition("=")
        if not sep:
            continue
        if key == "heritage":
            labels["heritage"] = val
        elif key.startswith("external-dns/"):
            labels[key[len("external-dns/") :]] = val
    return labels if labels.get("heritage") == "external-dns" else None


# ----------------------------------------------------------------------------- DNS views


def _queries(dns: dict[str, Any], purpose: str) -> list[dict[str, Any]]:
    return [q for q in dns.get("queries") or [] if isinstance(q, dict) and q.get("purpose") == purpose]


def _address_views(dns: dict[str, Any], host: str, role: str) -> list[dict[str, Any]]:
    """Per server of `role`: what it says about the host's A/AAAA (CNAME hops included)."""
    qhost = _fqdn(host)
    entries = _queries(dns, "address")
    servers: list[str] = []
    for q in entries:
        own = q.get("role") == role and q.get("qname") == qhost and not q.get("chain_from")
        if own and q["server"] not in servers:
            servers.append(q["server"])
    views = []
    for server in servers:
        own = [q for q in entries if q.get("server") == server and q.get("qname") == qhost and not q.get("chain_from")]
        hops = [q for q in entries if q.get("chain_from") == qhost
                and q.get("chain_server", q.get("server")) == server and q.get("chain_role", role) == role]
        views.append(_view(server, role, qhost, own, hops))
    return views


def _view(server: str, role: str, qhost: str, own: list[dict[str, Any]], hops: list[dict[str, Any]]) -> dict[str, Any]:
    records = [rr for q in own + hops for rr in q.get("answer") or []]
    # Follow the chain from the host through the answers.
    name, cnames, seen = qhost, [], {qhost}
    while True:
        nxt = next((rr for rr in records if rr.get("name") == name and rr.get("type") == "CNAME"), None)
        if nxt is None:
            break
        name = _fqdn(nxt["value"])
        cnames.append(_bare(name))
        if name in seen:
            break
        seen.add(name)
    final = [rr for rr in records if rr.get("name") == name and rr.get("type") in ("A", "AAAA")]
    addresses = list(dict.fromkeys(_norm_target(rr["value"]) for rr in final))
    errors = [q for q in own + hops if q.get("error") or q.get("rcode") not in ("NOERROR", "NXDOMAIN")]
    view: dict[str, Any] = {
        "server": server,
        "role": role,
        "addresses": addresses,
        "cnames": cnames,
        "ttl": min((int(rr.get("ttl") or 0) for rr in final), default=None),
    }
    neg = [rr for q in own for rr in q.get("authority") or [] if rr.get("type") == "SOA"]
    if neg and not addresses:
        # How long a resolver may cache this negative answer (RFC 2308: the SOA's TTL here).
        view["negative_ttl"] = min(int(rr.get("ttl") or 0) for rr in neg)
    if addresses:
        view["state"] = "answer"
        if errors:
            view["partial"] = [_q_error(q) for q in errors]
    elif any(q.get("rcode") == "NXDOMAIN" for q in own):
        view["state"] = "nxdomain"
    elif own and len(errors) < len(own + hops):
        view["state"] = "nodata"
    else:
        view["state"] = "error"
        view["error"] = "; ".join(dict.fromkeys(_q_error(q) for q in errors)) or "no answer"
    return view


def _q_error(q: dict[str, Any]) -> str:
    if q.get("error"):
        return str(q["error"])
    return f"{q.get('server')} answered {q.get('rcode')} for {_bare(q.get('qname'))} {q.get('qtype')}"


def _wildcard(dns: dict[str, Any]) -> dict[str, Any]:
    """Wildcard evidence from the random-label probes at the authoritative servers.

    `sibling` (edgedoctor-<hex>.<parent>) answering means a wildcard covers the host's level.
    `child` (edgedoctor-<hex>.<host>) answering as well means the host has no node of its own:
    a name that exists stops wildcard synthesis below it (RFC 4592 closest encloser), so an
    existing host gives NXDOMAIN for its child while a wildcard-only host does not.
    """
    sib: dict[str, list[str]] = {}
    child: dict[str, list[str]] = {}
    asked = False
    for q in _queries(dns, "wildcard-probe"):
        if q.get("error") or q.get("rcode") not in ("NOERROR", "NXDOMAIN"):
            continue
        asked = True
        addrs = [_norm_target(rr["value"]) for rr in q.get("answer") or [] if rr.get("type") in ("A", "AAAA")]
        cn = [rr for rr in q.get("answer") or [] if rr.get("type") == "CNAME"]
        target = sib if q.get("probe", "sibling") == "sibling" else child
        if addrs or cn:
            target[q["server"]] = addrs or [_bare(cn[0]["value"])]
    return {
        "asked": asked,
        "wildcard_exists": bool(sib),
        "host_only_by_wildcard": bool(sib) and bool(child),
        "wildcard_answer": sorted({a for v in sib.values() for a in v}),
        "servers": sorted(sib),
    }


# ----------------------------------------------------------------------------- analysis


class _Analysis:
    def __init__(self, dns: dict[str, Any] | None, tls: list[dict[str, Any]] | None,
                 http: list[dict[str, Any]] | None, facts: EdgeFacts) -> None:
        self.dns, self.tls, self.http, self.facts = dns, tls, http, facts
        self.host = _bare(facts.host)
        self.now = parse_rfc3339(facts.now)
        self.nodes: dict[str, NodeResult] = {}
        self.findings: list[Finding] = []
        self.proxied = False  # the host resolves into Cloudflare's ranges
        self.auth_state: str | None = None
        self.served_ok: bool | None = None  # a served certificate is valid now and covers the host
        self.caa: dict[str, Any] | None = None
        self.challenges: list[dict[str, Any]] | None = None

    def add(self, code: str, message: str, *, severity: str | None = None, node: str | None = None,
            evidence: dict[str, Any] | None = None, commands: Iterable[str] = (),
            explained_by: str | None = None) -> Finding:
        """As `Ctx.add`: the catalog entry gives the severity and the node."""
        f = new_finding(code, message, severity=severity, node=node, evidence=evidence,
                        commands=commands, explained_by=explained_by)
        self.findings.append(f)
        return f

    def guard(self, node: str, fn: Any) -> None:
        """A bug in one part must show as an error node, not hide the others' results."""
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - reported, not swallowed
            self.nodes[node] = NodeResult(node, "error", f"analysis failed: {type(e).__name__}: {e}")

    # ------------------------------------------------------------------ dns
    def analyze_dns(self) -> None:
        dns = self.dns
        if dns is None:
            self.nodes["dns"] = NodeResult("dns", "skip", "not probed (offline)")
            return
        host = self.host
        facts = self.facts
        expected = [_norm_target(a) for a in facts.expected_addresses or [] if a]
        auth = _address_views(dns, host, "authoritative")
        rec = _address_views(dns, host, "recursive")
        wild = _wildcard(dns)
        details: dict[str, Any] = {
            "zone": dns.get("zone"),
            "soa": dns.get("soa"),
            "expected": expected,
            "expected_from": facts.expected_from,
            "authoritative": auth,
            "recursive": rec,
            "wildcard": wild,
        }
        first_auth = auth[0]["server"] if auth else None
        answering = [v for v in auth if v["state"] != "error"]
        if not answering:
            why = dns.get("zone_error") or "; ".join(v.get("error", "") for v in auth) or "no authoritative server was asked"
            if rec and any(v["state"] == "answer" for v in rec):
                details["note"] = "the resolvers answer, but the authoritative view could not be established"
            self.nodes["dns"] = NodeResult("dns", "unknown", f"authoritative DNS for {host} unknown: {why}", details)
            self.auth_state = "unknown"
            return

        auth_addrs = list(dict.fromkeys(a for v in answering for a in v["addresses"]))
        auth_names = list(dict.fromkeys(c for v in answering for c in v["cnames"]))
        have = [v for v in answering if v["state"] == "answer"]
        missing = [v for v in answering if v["state"] != "answer"]
        cmds = [dig(v["server"], host, "A") for v in auth[:2]]
        summary = ""
        status: Status = "pass"

        # Cloudflare-proxied answers: the Gateway's address is not what users reach.
        cf = {a: cloudflare_range(a) for a in auth_addrs}
        cf_hits = {a: r for a, r in cf.items() if r}
        if cf_hits and len(cf_hits) == len(auth_addrs):
            self.proxied = True

        if not have:
            self.auth_state = "missing"
            kind = "NXDOMAIN" if any(v["state"] == "nxdomain" for v in missing) else "no A/AAAA records (NODATA)"
            msg = f"the authoritative servers answer {kind} for {host}"
            if expected:
                msg += f"; expected {', '.join(expected)} ({facts.expected_from})"
            ev = {"servers": [v["server"] for v in missing], "answer": kind, "expected": expected,
                  "zone": dns.get("zone")}
            self.add("dns-no-record", msg, evidence=ev, commands=cmds + [dig(first_auth, f"a-{host}", "TXT")] if first_auth else cmds)
            status, summary = "fail", msg
        elif missing:
            # Some authoritative servers lack the record: a secondary has not caught up.
            self.auth_state = "split"
            msg = (f"authoritative servers disagree about {host}: {', '.join(v['server'] for v in have)} "
                   f"answer {', '.join(auth_addrs)}, {', '.join(v['server'] for v in missing)} do not")
            serials = self._soa_serials()
            self.add("dns-propagation", msg, evidence={"have": [v["server"] for v in have], "missing": [v["server"] for v in missing],
                      "serials": serials}, commands=[dig(v["server"], host, "A") for v in answering]
                     + [dig(v["server"], dns.get("zone") or host, "SOA") for v in answering])
            status, summary = "warn", msg

        if have:
            matches = self._matches(expected, auth_addrs, auth_names)
            if self.proxied and facts.cloudflare_proxied is not False:
                msg = (f"{host} resolves to Cloudflare ({', '.join(f'{a} in {r}' for a, r in cf_hits.items())}), "
                       f"not to the Gateway" + (f" ({', '.join(expected)})" if expected else ""))
                self.add("dns-cloudflare-proxied", msg, evidence={"answer": auth_addrs, "cloudflare_ranges": cf_hits, "expected": expected,
                          "annotation_proxied": facts.cloudflare_proxied}, commands=cmds + [_curl(host, auth_addrs[0], "https", 443)])
                status, summary = "fail", msg
                self.auth_state = "proxied"
            elif matches is False:
                self.auth_state = "wrong"
                extra = sorted(set(auth_addrs + auth_names) - set(expected))
                lost = sorted(set(expected) - set(auth_addrs + auth_names))
                msg = (f"the authoritative answer for {host} is {', '.join(auth_addrs or auth_names)}, "
                       f"but the Gateway's address is {', '.join(expected)} ({facts.expected_from})")
                self.add("dns-wrong-target", msg, evidence={"answer": auth_addrs, "cnames": auth_names, "expected": expected,
                          "unexpected": extra, "missing": lost}, commands=cmds)
                status, summary = "fail", msg
            elif self.auth_state is None:
                self.auth_state = "right" if matches else "answer"

            if wild["host_only_by_wildcard"]:
                msg = (f"{host} has no record of its own: a wildcard answers for it "
                       f"({', '.join(wild['wildcard_answer'])}), hiding that the specific record is missing")
                self.add("dns-wildcard-masking", msg, evidence={"wildcard_answer": wild["wildcard_answer"], "servers": wild["servers"],
                          "host_answer": auth_addrs}, commands=cmds + [dig(first_auth, f"edgedoctor-random-label-check.{host.split('.', 1)[1]}", "A"),
                                 dig(first_auth, f"*.{host.split('.', 1)[1]}", "A")] if first_auth else cmds)
                if status == "pass":
                    status, summary = "warn", msg

        if self.auth_state in ("right", "answer", "split"):
            s, m = self._recursive(rec, auth_addrs, auth_names, expected)
            if s != "pass" and status == "pass":
                status, summary = s, m
        if facts.external_dns is not None:
            self._ownership(dns, details)

        if not summary:
            where = f"{len(answering)} authoritative server{'s' if len(answering) != 1 else ''}"
            ok_rec = [v for v in rec if v["state"] == "answer"]
            if ok_rec:
                where += f" and {len(ok_rec)} resolver{'s' if len(ok_rec) != 1 else ''}"
            target = ", ".join(auth_addrs or auth_names)
            summary = f"{host} resolves to {target} at {where}"
            if expected and self.auth_state == "right":
                summary += " (the Gateway's address)"
            elif not expected:
                summary += " (no expected address known)"
        for f in self.findings:
            if f.node == "dns" and f.severity == "critical" and status != "fail":
                status, summary = "fail", f.message
        self.nodes["dns"] = NodeResult("dns", status, summary, details)

    def _soa_serials(self) -> dict[str, int]:
        out: dict[str, int] = {}
        zone = _fqdn(self.dns.get("zone") or "") if self.dns else ""
        for q in _queries(self.dns or {}, "soa"):
            for rr in q.get("answer") or []:
                if rr.get("type") == "SOA" and rr.get("name") == zone:
                    parts = str(rr["value"]).split()
                    if len(parts) >= 3 and parts[2].isdigit():
                        out[q["server"]] = int(parts[2])
        return out

    @staticmethod
    def _matches(expected: list[str], addrs: list[str], names: list[str]) -> bool | None:
        if not expected:
            return None
        exp_ips = {e for e in expected if _is_ip(e)}
        exp_names = {e for e in expected if not _is_ip(e)}
        if exp_names and not exp_ips:
            return bool(exp_names & set(names)) or set(addrs) == exp_names
        if exp_names and exp_names & set(names):
            return True
        return set(addrs) == exp_ips

    def _recursive(self, rec: list[dict[str, Any]], auth_addrs: list[str], auth_names: list[str],
                   expected: list[str]) -> tuple[Status, str]:
        soa = (self.dns or {}).get("soa") or {}
        neg_ttl = None
        if soa.get("ttl") is not None and soa.get("minimum") is not None:
            neg_ttl = min(int(soa["ttl"]), int(soa["minimum"]))
        stale = []
        for v in rec:
            if v["state"] == "error":
                continue
            if v["state"] in ("nxdomain", "nodata"):
                wait = v.get("negative_ttl", neg_ttl)
                stale.append({"server": v["server"], "answer": v["state"].upper() if v["state"] == "nxdomain" else "NODATA",
                              "wait_seconds": min(wait, neg_ttl) if wait is not None and neg_ttl is not None else wait,
                              "negative_ttl": neg_ttl})
            elif set(v["addresses"]) != set(auth_addrs) and not (set(v["cnames"]) & set(auth_names)):
                stale.append({"server": v["server"], "answer": v["addresses"], "wait_seconds": v.get("ttl")})
        if not stale:
            return "pass", ""
        parts = []
        for s in stale:
            ans = s["answer"] if isinstance(s["answer"], str) else ", ".join(s["answer"])
            wait = f"; cached for up to {s['wait_seconds']} s more" if s.get("wait_seconds") is not None else ""
            parts.append(f"{s['server']} still answers {ans}{wait}")
        msg = (f"the authoritative servers answer {', '.join(auth_addrs or auth_names)} for {self.host}, "
               f"but {'; '.join(parts)}")
        ev = {"authoritative_answer": auth_addrs, "resolvers": stale, "soa_negative_ttl": neg_ttl,
              "soa": {k: soa.get(k) for k in ("serial", "ttl", "minimum")} if soa else None}
        cmds = [dig(s["server"], self.host, "A", recursive=True) for s in stale]
        # A resolver that caches "no such name" sends its users nowhere: the host does not
        # work for them now, until the negative answer expires. One still giving an older
        # address sends them to the old Gateway, which may still answer: a warning.
        negative = [s for s in stale if isinstance(s["answer"], str)]
        if negative:
            waits = [s["wait_seconds"] for s in negative if s.get("wait_seconds") is not None]
            left = (f"; users behind {'them' if len(negative) > 1 else 'it'} cannot reach {self.host} for up to "
                    f"{_duration(max(waits))} more (the zone's negative TTL)" if waits else
                    f"; users behind {'them' if len(negative) > 1 else 'it'} cannot reach {self.host} until it expires")
            ev["wait_seconds_left"] = max(waits) if waits else None
            self.add("dns-propagation", msg + left, severity="critical", evidence=ev, commands=cmds)
            return "fail", msg + left
        self.add("dns-propagation", msg, evidence=ev, commands=cmds)
        return "warn", msg

    def _ownership(self, dns: dict[str, Any], details: dict[str, Any]) -> None:
        ext = self.facts.external_dns or {}
        owner_id = str(ext.get("owner_id") or "default")
        want_resource = self.facts.route_resource
        queries = _queries(dns, "txt-registry")
        registry: list[dict[str, Any]] = []
        foreign_txt: list[dict[str, str]] = []
        clean = bool(queries)
        for q in queries:
            if q.get("error") or q.get("rcode") not in ("NOERROR", "NXDOMAIN"):
                clean = False
                continue
            for rr in q.get("answer") or []:
                if rr.get("type") != "TXT":
                    continue
                text = txt_strings(str(rr.get("value", "")))
                labels = parse_registry(text)
                if labels is None:
                    foreign_txt.append({"name": _bare(rr.get("name")), "text": text[:120]})
                    continue
                entry = {"name": _bare(rr.get("name")), "server": q["server"], "owner": labels.get("owner"),
                         "resource": labels.get("resource")}
                if entry not in registry:
                    registry.append(entry)
        details["registry"] = {"owner_id": owner_id, "records": registry, "other_txt": foreign_txt,
                               "asked": [_bare(q.get("qname")) for q in queries][:8]}
        if not queries:
            details["registry"]["note"] = "no TXT registry names were asked"
            return
        record_ok = self.auth_state in ("right",)
        record_exists = self.auth_state in ("right", "wrong", "answer", "split", "proxied") and not (
            details.get("wildcard", {}).get("host_only_by_wildcard"))
        # A record that is currently right only degrades: external-dns cannot manage it.
        severity = "warning" if record_ok else "critical"
        first = queries[0]["server"]
        cmds = [dig(first, _bare(q.get("qname")), "TXT") for q in queries[:3]] + [dig(first, self.host, "A")]
        others = [r for r in registry if r["owner"] != owner_id]
        wrong_res = [r for r in registry if r["owner"] == owner_id and want_resource and r["resource"]
                     and r["resource"] != want_resource]
        if others:
            r = others[0]
            msg = (f"the external-dns registry record {r['name']} says {self.host} belongs to owner "
                   f"{r['owner']!r} ({r['resource'] or 'no resource'}), not to this cluster's owner id "
                   f"{owner_id!r}: external-dns will not update or delete it")
            self.add("dns-ownership-conflict", msg, severity=severity, evidence={"found_owner": r["owner"], "owner_id": owner_id, "resource": r["resource"],
                      "registry": registry}, commands=cmds)
        elif wrong_res:
            r = wrong_res[0]
            msg = (f"the registry record {r['name']} ties {self.host} to {r['resource']}, not to "
                   f"{want_resource}: two routes claim the host")
            self.add("dns-ownership-conflict", msg, severity=severity, evidence={"found_resource": r["resource"], "route_resource": want_resource, "owner_id": owner_id,
                      "registry": registry}, commands=cmds)
        elif not registry and record_exists and clean:
            enc = " (a TXT there is not in the plain registry format; encrypted registries cannot be read)" if foreign_txt else ""
            msg = (f"{self.host} has a record but no external-dns registry TXT record: it is not owned by "
                   f"external-dns, which will not change it{enc}")
            self.add("dns-ownership-conflict", msg, severity=severity, evidence={"owner_id": owner_id, "registry_names": details["registry"]["asked"],
                      "other_txt": foreign_txt}, commands=cmds)

    # ------------------------------------------------------------------ certificates
    def analyze_served(self) -> None:
        tls = self.tls
        if tls is None:
            self.nodes["served-certificate"] = NodeResult("served-certificate", "skip", "not probed (offline)")
            return
        if not tls:
            self.nodes["served-certificate"] = NodeResult(
                "served-certificate", "unknown",
                "no address to connect to (DNS gave none and the Gateway has no address)")
            return
        plain = [t for t in tls if not t.get("proxy_protocol")]
        ok = [t for t in plain if t.get("ok") and t.get("chain_pem")]
        via_proxy = False
        if not ok:
            ok = [t for t in tls if t.get("proxy_protocol") and t.get("ok") and t.get("chain_pem")]
            via_proxy = bool(ok)
        failures = [t for t in plain if not t.get("ok")]
        details: dict[str, Any] = {"endpoints": [self._endpoint(t) for t in tls]}
        if not ok:
            kinds = {t.get("error_kind") for t in failures}
            first = failures[0] if failures else tls[0]
            msg = f"no TLS handshake with {self.host} succeeded: {first.get('error')}"
            status: Status = "unknown" if kinds <= set(_UNREACHED) else "fail"
            self.nodes["served-certificate"] = NodeResult("served-certificate", status, msg, details)
            return
        # Addresses inside Cloudflare's ranges serve Cloudflare's edge certificate: judge the
        # Secret and issuer only on the others (the Gateway's addresses).
        judged = [t for t in ok if not cloudflare_range(str(t.get("address")))] or ok
        leaves: dict[str, dict[str, Any]] = {}
        for t in judged:
            chain = _certs.load_pems(t["chain_pem"])
            if not chain:
                continue
            s = _certs.summary(chain[0])
            entry = leaves.setdefault(s["sha256"], {"summary": s, "cert": chain[0], "endpoints": [],
                                                    "verification": None})
            entry["endpoints"].append(t)
            if entry["verification"] is None:
                entry["verification"] = self._verification(t)
        if not leaves:
            self.nodes["served-certificate"] = NodeResult("served-certificate", "error",
                                                         "the served certificates could not be read", details)
            return
        secret_leaf = None
        secret_chain = _certs.load_pems(self.facts.listener_secret_pem)
        if secret_chain:
            secret_leaf = secret_chain[0]
            details["secret"] = _certs.summary(secret_leaf)
        details["certificates"] = []
        renew = self.facts.renew_before_seconds or DEFAULT_RENEW_BEFORE
        served_ok_any = False
        for entry in leaves.values():
            served_ok_any |= self._judge_leaf(entry, secret_leaf, renew, details)
        self.served_ok = served_ok_any
        if via_proxy:
            details["note"] = "only handshakes preceded by a PROXY header succeeded"
        if self.proxied:
            details["cloudflare"] = "the host resolves to Cloudflare: judged the Gateway addresses' certificate"
        codes = [f for f in self.findings if f.node == "served-certificate"]
        crit = [f for f in codes if f.severity == "critical"]
        warn = [f for f in codes if f.severity != "critical"]
        first = next(iter(leaves.values()))["summary"]
        if crit:
            status, summary = "fail", crit[0].message
        elif warn:
            status, summary = "warn", warn[0].message
        else:
            unverified = [e for e in leaves.values() if e["verification"] and e["verification"].get("verified") is False]
            summary = (f"serves {first['subject']} from {first['issuer_cn'] or first['issuer']}, valid until "
                       f"{first['not_after']}, covers {self.host}")
            status = "pass"
            if unverified:
                status = "warn"
                summary += f"; chain not verified: {unverified[0]['verification'].get('error')}"
        if len(leaves) > 1:
            summary += f" ({len(leaves)} different certificates across {len(judged)} endpoints)"
        if via_proxy:
            summary += " (only with a PROXY protocol header)"
        elif failures:
            summary += (f"; {len(failures)} other endpoint{'s' if len(failures) != 1 else ''} failed: "
                        f"{failures[0].get('error')}")
        self.nodes["served-certificate"] = NodeResult("served-certificate", status, summary, details)

    def _endpoint(self, t: dict[str, Any]) -> dict[str, Any]:
        out = {k: t.get(k) for k in ("address", "port", "source", "proxy_protocol", "ok", "error_kind",
                                      "error", "protocol", "chain_source")}
        out["chain_length"] = len(t.get("chain_pem") or [])
        return out

    def _verification(self, t: dict[str, Any]) -> dict[str, Any]:
        recorded = t.get("verification")
        if isinstance(recorded, dict):
            return recorded
        roots = _certs.load_pems(self.facts.ca_bundle_pem)
        if not roots or self.now is None:
            return {"verified": None, "error": "not verified: the record holds no verdict and no --ca-bundle was given"}
        out = _certs.verify_chain(t.get("chain_pem") or [], self.host, roots, self.now)
        out["trust"] = "ca-bundle"
        return out

    def _judge_leaf(self, entry: dict[str, Any], secret_leaf: Any, renew: int, details: dict[str, Any]) -> bool:
        cert, s = entry["cert"], entry["summary"]
        eps = entry["endpoints"]
        where = ", ".join(sorted({f"{t['address']}:{t['port']}" for t in eps}))
        t0 = eps[0]
        cmds = [_openssl(self.host, t0["address"], int(t0["port"]), bool(t0.get("proxy_protocol")))]
        staging = _certs.is_staging_issuer(cert)
        covering = _certs.covering_sans(cert, self.host)
        nb, na = _certs.not_before(cert), _certs.not_after(cert)
        expired = self.now is not None and na <= self.now
        expiring = self.now is not None and not expired and (na - self.now).total_seconds() <= renew
        stale = False
        if secret_leaf is not None:
            same = secret_leaf.serial_number == cert.serial_number and _certs.summary(secret_leaf)["sha256"] == s["sha256"]
            # Stale means an older issue of the same certificate (names in common), not a
            # foreign one such as a default or another tenant's certificate.
            shared = set(_certs.dns_sans(secret_leaf)) & set(s["sans"])
            stale = not same and bool(shared) and _certs.not_before(secret_leaf) > nb
        secret_fine = False
        if secret_leaf is not None and stale:
            secret_fine = (not _certs.is_staging_issuer(secret_leaf) and bool(_certs.covering_sans(secret_leaf, self.host))
                           and (self.now is None or _certs.not_after(secret_leaf) > self.now))
        info = dict(s)
        info.update({"endpoints": where, "staging": staging, "covers_host": bool(covering),
                     "covering_sans": covering, "expired": expired, "verification": entry["verification"],
                     "stale": stale})
        if self.now is not None:
            info["seconds_left"] = int((na - self.now).total_seconds())
        details["certificates"].append(info)
        ev = {"serial": s["serial"], "issuer": s["issuer"], "not_after": s["not_after"], "sans": s["sans"],
              "endpoints": where}
        fine_now = not expired and bool(covering)
        if stale:
            # Broken now (expired, wrong names, staging) or only going to be: the severity says which.
            sev = "critical" if not fine_now or staging else "warning"
            sec = _certs.summary(secret_leaf)
            self.add("cert-stale-served", f"{where} serves serial {s['serial']} (not after {s['not_after']}) while the listener's "
                     f"Secret holds a newer certificate, serial {sec['serial']} (not after {sec['not_after']})", severity=sev, evidence={**ev, "secret_serial": sec["serial"], "secret_not_before": sec["not_before"],
                          "secret_not_after": sec["not_after"]}, commands=cmds)
        # When the Secret already has a good certificate, staleness is the cause and these
        # are its symptoms (checks/README.md, "Ranking": a consequence ranks after its cause).
        symptom = "cert-stale-served" if stale and secret_fine else None
        if expired:
            self.add("cert-expired", f"the certificate served for {self.host} at {where} expired at {s['not_after']}", evidence=ev, commands=cmds, explained_by=symptom)
        elif expiring:
            left = int((na - self.now).total_seconds()) if self.now else None
            self.add("cert-expiring", f"the certificate served for {self.host} expires at {s['not_after']} "
                     f"({time_left(left or 0)} left, inside the {renew // 86400}-day renewal window)", evidence={**ev, "seconds_left": left, "renew_before_seconds": renew}, commands=cmds, explained_by=symptom)
        if staging:
            self.add("cert-staging-issuer", f"{where} serves a Let's Encrypt staging certificate for {self.host} "
                     f"(issuer {s['issuer_cn'] or s['issuer']}): browsers do not trust it", evidence=ev, commands=cmds, explained_by=symptom)
        if not covering:
            sans = s["sans"]
            multi = [p for p in sans if p.startswith("*.") and self.host.endswith("." + p[2:])]
            why = ""
            if multi:
                why = (f"; {multi[0]} covers exactly one label (RFC 6125), so it does not cover "
                       f"{self.host} even though a Gateway listener {multi[0]} accepts it")
            self.add("cert-san-mismatch", f"the certificate served at {where} does not cover {self.host}: its names are "
                     f"{', '.join(sans) or '(none)'}{why}", evidence={**ev, "host": self.host, "host_alabel": _certs.to_alabel(self.host)}, commands=cmds, explained_by=symptom)
        if secret_leaf is not None and not stale and _certs.summary(secret_leaf)["sha256"] != s["sha256"]:
            info["note"] = "the served certificate is not the listener Secret's, and not older than it"
        return fine_now and not staging

    # ------------------------------------------------------------------ CAA and DNS-01
    def analyze_caa(self) -> None:
        dns = self.dns
        if dns is None:
            return
        entries = _queries(dns, "caa")
        if not entries:
            return
        # Closest name first (most labels), as Let's Encrypt climbs the tree.
        entries = sorted(entries, key=lambda q: -len(_bare(q.get("qname")).split(".")))
        wildcard = any(c.get("wildcard") for c in self.facts.acme_challenges or [])
        if not wildcard:
            wildcard = self._served_by_wildcard_only()
        found: dict[str, Any] | None = None
        lookup_errors: list[str] = []
        by_name: dict[str, list[dict[str, Any]]] = {}
        for q in entries:
            by_name.setdefault(_bare(q.get("qname")), []).append(q)
        for name, qs in by_name.items():
            good = [q for q in qs if not q.get("error") and q.get("rcode") in ("NOERROR", "NXDOMAIN")]
            if not good:
                answered = [q for q in qs if not q.get("error")]
                if not answered:
                    # The probe got no answer: that says nothing about what Let's Encrypt sees.
                    self.caa = {"name": name, "unknown": _q_error(qs[-1])}
                    return
                lookup_errors.append(f"{name}: {_q_error(answered[-1])}")
                break  # LE cannot look past a name whose CAA lookup fails
            records = [rr for rr in good[0].get("answer") or [] if rr.get("type") == "CAA"]
            if records:
                found = {"name": name, "server": good[0]["server"], "records": [rr["value"] for rr in records]}
                break
        sev = "critical" if self._issuance_needed() else "warning"
        node = "challenge"
        if lookup_errors:
            name = lookup_errors[0].split(":", 1)[0]
            self.add("cert-caa-forbids", f"the CAA lookup for {name} fails ({lookup_errors[0].split(': ', 1)[1]}); Let's Encrypt "
                     f"refuses to issue when it cannot read CAA", severity=sev, node=node, evidence={"lookup_error": lookup_errors[0], "wildcard": wildcard}, commands=[dig(qs[0]["server"], name, "CAA") for qs in [by_name[name]]])
            return
        if found is None:
            return
        allowed, why = caa_allows(found["records"], wildcard)
        self.caa = {**found, "allows_letsencrypt": allowed, "wildcard": wildcard}
        if not allowed:
            self.add("cert-caa-forbids", f"the CAA records at {found['name']} ({'; '.join(found['records'])}) do not allow "
                     f"letsencrypt.org to issue {'a wildcard ' if wildcard else ''}certificate for {self.host}: {why}", severity=sev, node=node, evidence={"caa_name": found["name"], "records": found["records"], "wildcard": wildcard}, commands=[dig(found["server"], found["name"], "CAA")])

    def _served_by_wildcard_only(self) -> bool:
        for pem in [self.facts.listener_secret_pem] + [p for t in self.tls or [] for p in (t.get("chain_pem") or [])[:1]]:
            chain = _certs.load_pems(pem)
            if chain:
                sans = _certs.covering_sans(chain[0], self.host)
                if sans and all(s.startswith("*.") for s in sans):
                    return True
        return False

    def _issuance_needed(self) -> bool:
        """Users are affected now when no valid certificate covering the host is served.

        Without a served verdict, pending challenges mean a certificate is being waited for.
        """
        if self.served_ok is not None:
            return not self.served_ok
        return bool(self.facts.acme_challenges)

    def analyze_challenges(self) -> None:
        challenges = self.facts.acme_challenges or []
        if not challenges or self.dns is None:
            return
        entries = _queries(self.dns, "acme-challenge")
        auth_servers = [f"{s['address']}:{s['port']}" if ":" not in str(s["address"]) else f"[{s['address']}]:{s['port']}"
                        for s in self.dns.get("authoritative_servers") or []]
        results = []
        waits: list[tuple[bool, str, str, dict[str, Any], list[str]]] = []
        for ch in challenges:
            dns_name = _bare(ch.get("dns_name"))
            if dns_name.startswith("*."):
                dns_name = dns_name[2:]
            qname = _fqdn(f"_acme-challenge.{dns_name}")
            key = ch.get("key")
            per: dict[str, str] = {}
            values: dict[str, list[str]] = {}
            for q in entries:
                if q.get("qname") != qname:
                    continue
                if q.get("error") or q.get("rcode") not in ("NOERROR", "NXDOMAIN"):
                    per[q["server"]] = f"error: {_q_error(q)}"
                    continue
                vals = [txt_strings(rr["value"]) for rr in q.get("answer") or [] if rr.get("type") == "TXT"]
                values[q["server"]] = vals
                per[q["server"]] = "present" if key and key in vals else ("other-values" if vals else "absent")
            servers = list(per) or auth_servers
            have = [s for s in servers if per.get(s) == "present"]
            lacking = [s for s in servers if per.get(s) != "present"]
            result = {"challenge": f"{ch.get('namespace')}/{ch.get('name')}", "record": _bare(qname),
                      "per_server": per, "values": values, "waiting_seconds": ch.get("waiting_seconds")}
            results.append(result)
            waited = ch.get("waiting_seconds")
            if waited is None or waited < DNS01_WAIT_THRESHOLD:
                continue
            if not per:
                where = "was not asked at the authoritative servers"
            elif not lacking:
                where = f"is at all {len(have)} authoritative servers ({', '.join(have)}) with the key"
            elif not have:
                states = sorted(set(per.values()))
                where = f"is at none of the authoritative servers ({', '.join(servers)}: {', '.join(states)})"
            else:
                where = f"is at {', '.join(have)} but not at {', '.join(lacking)}"
            msg = (f"Challenge {result['challenge']} has waited {int(waited) // 60} min for DNS-01 propagation; "
                   f"the TXT record {_bare(qname)} {where}")
            if ch.get("reason"):
                msg += f" (reason: {ch['reason']})"
            sev = "critical" if self.served_ok is not True else "warning"
            waits.append((not lacking, msg, sev,
                          {"record": _bare(qname), "key_present_at": have, "key_missing_at": lacking,
                           "per_server": per, "values": values, "waiting_seconds": waited,
                           "reason": ch.get("reason")},
                          [dig(s, qname, "TXT") for s in servers[:3]]))
        # A record missing at the servers is the specific cause; present everywhere points at
        # cert-manager's own view (split horizon, recursive cache): the missing ones come first,
        # and of one code the first is the one reported.
        for _, msg, sev, evidence, cmds in sorted(waits, key=lambda w: w[0]):
            self.add("cert-dns01-propagation-wait", msg, severity=sev, evidence=evidence, commands=cmds)
        if results:
            self.challenges = results

    # ------------------------------------------------------------------ redirect
    def analyze_redirect(self) -> None:
        http = self.http
        if http is None:
            self.nodes["http-redirect"] = NodeResult("http-redirect", "skip", "not probed (offline)")
            return
        plain = [h for h in http if h.get("scheme") == "http"]
        secure = [h for h in http if h.get("scheme") == "https"]
        answered = [h for h in plain if h.get("status") is not None]
        details: dict[str, Any] = {"probes": [{k: h.get(k) for k in ("url", "address", "port", "status", "location",
                                                                   "error_kind", "error")} for h in http]}
        loop = self._https_loop(secure)
        if loop is not None:
            h = loop
            msg = (f"https://{self.host}/ answers {h['status']} to {h['location']}: a redirect loop "
                   f"(the redirect route also attaches to the https listener)")
            self.add("redirect-missing", msg, severity="critical", evidence={"status": h["status"], "location": h["location"], "url": h["url"]}, commands=[_curl(self.host, h["address"], "https", int(h["port"]))])
            self.nodes["http-redirect"] = NodeResult("http-redirect", "fail", msg, details)
            return
        if not answered:
            if not plain:
                self.nodes["http-redirect"] = NodeResult("http-redirect", "unknown", "http:// was not probed", details)
                return
            last = plain[-1]
            kind = last.get("error_kind")
            if kind in _UNREACHED:
                self.nodes["http-redirect"] = NodeResult(
                    "http-redirect", "unknown", f"http://{self.host}/ could not be probed: {last.get('error')}", details)
                return
            msg = f"http://{self.host}/ gets no HTTP answer: {last.get('error')}"
            # https may still work: a missing redirect degrades, a loop breaks.
            self.add("redirect-missing", msg, evidence={"error": last.get("error"), "error_kind": kind}, commands=[_curl(self.host, str(last.get("address")), "http", int(last.get("port") or 80))])
            self.nodes["http-redirect"] = NodeResult("http-redirect", "fail", msg, details)
            return
        h = answered[-1]
        status, location = h["status"], h.get("location")
        cmds = [_curl(self.host, h["address"], "http", int(h["port"]))]
        loops = False  # a loop breaks the site; any other wrong answer only degrades it
        if status in REDIRECT_STATUSES and location:
            target = urlsplit(location)
            if not target.scheme:
                target = urlsplit(f"http://{self.host}{location if location.startswith('/') else '/' + location}")
            same_host = _certs.to_alabel(target.hostname or "") == _certs.to_alabel(self.host)
            if target.scheme == "https" and same_host and target.port in (None, 443):
                msg = f"http://{self.host}/ redirects ({status}) to {location}"
                self.nodes["http-redirect"] = NodeResult("http-redirect", "pass", msg, details)
                return
            if target.scheme == "http" and same_host and (target.path or "/") == (urlsplit(h["url"]).path or "/"):
                why = "to itself: a redirect loop"
                loops = True
            elif target.scheme == "https" and same_host:
                why = f"to https on port {target.port}, not 443"
            elif target.scheme == "https":
                why = f"to another host ({target.hostname})"
            else:
                why = "but not to https"
            msg = f"http://{self.host}/ answers {status} {why} (Location: {location})"
        else:
            server = (h.get("headers") or {}).get("server")
            msg = (f"http://{self.host}/ answers {status} instead of a redirect to https://{self.host}/"
                   + (f" (server: {server})" if server else ""))
        self.add("redirect-missing", msg, severity="critical" if loops else "warning", evidence={"status": status, "location": location, "url": h["url"], "address": h["address"],
                  "body_sample": (h.get("body_sample") or "")[:160]}, commands=cmds)
        self.nodes["http-redirect"] = NodeResult("http-redirect", "fail" if loops else "warn", msg, details)

    def _https_loop(self, secure: list[dict[str, Any]]) -> dict[str, Any] | None:
        for h in secure:
            if h.get("status") in REDIRECT_STATUSES and h.get("location"):
                t = urlsplit(h["location"])
                if (t.scheme == "https" and _certs.to_alabel(t.hostname or "") == _certs.to_alabel(self.host)
                        and (t.path or "/") == (urlsplit(h["url"]).path or "/") and t.port in (None, 443, h.get("port"))):
                    return h
        return None

    # ------------------------------------------------------------------ PROXY protocol
    def analyze_proxy(self) -> None:
        pp = self.facts.proxy_protocol or {}
        expects, sends = pp.get("envoy_expects"), pp.get("lb_sends")
        tls = self.tls or []
        pairs: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
        for t in tls:
            pairs.setdefault((str(t.get("address")), int(t.get("port") or 443)), {})[
                "proxy" if t.get("proxy_protocol") else "plain"] = t
        probes = []
        expects_sig: list[tuple[str, int]] = []
        for key, pair in pairs.items():
            plain, prox = pair.get("plain"), pair.get("proxy")
            if plain is None or prox is None:
                continue
            probes.append({"address": key[0], "port": key[1], "plain": plain.get("error_kind") or "ok",
                           "with_proxy_header": prox.get("error_kind") or "ok"})
            if not plain.get("ok") and plain.get("error_kind") in ("reset", "closed", "handshake", "timeout") and prox.get("ok"):
                expects_sig.append(key)
        http400 = [h for h in self.http or [] if h.get("scheme") == "http" and h.get("status") == 400]
        plain_tls_bad = [t for t in tls if not t.get("proxy_protocol") and t.get("error_kind") in ("not-tls", "handshake", "closed", "reset")]
        details = {"envoy_expects": expects, "lb_sends": sends, "probes": probes}
        if not probes and expects is None and sends is None:
            return
        finding = None
        if expects_sig:
            a, p = expects_sig[0]
            msg = (f"{a}:{p} resets TLS connections without a PROXY header and completes the handshake with "
                   f"one: Envoy expects PROXY protocol")
            if sends is False:
                msg += ", but the load balancer does not send it"
            elif sends is True:
                msg += "; the load balancer is set to send it, so these probes bypass it (in-cluster, ipMode VIP)"
            else:
                msg += " and the connection arrives without it"
            finding = self.add("proxy-protocol-mismatch", msg, evidence={"addresses": [f"{x}:{y}" for x, y in expects_sig], "envoy_expects": expects,
                                "lb_sends": sends, "probe": "plain reset/closed, PROXY header ok"}, commands=[_curl(self.host, a, "https", p), _openssl(self.host, a, p, proxy=True)])
        elif expects is not None and sends is not None and expects != sends:
            side = ("the load balancer sends PROXY protocol but the Envoy listener does not expect it"
                    if sends else "the Envoy listener expects PROXY protocol but the load balancer does not send it")
            signature = []
            if sends and http400:
                signature.append(f"http answers 400 ({http400[0].get('url')})")
            if plain_tls_bad:
                signature.append(f"TLS to {plain_tls_bad[0].get('address')} fails ({plain_tls_bad[0].get('error_kind')})")
            msg = side + (f"; the probes agree: {', '.join(signature)}" if signature else "")
            cmds = []
            if tls:
                t0 = tls[0]
                cmds = [_curl(self.host, str(t0.get("address")), "https", int(t0.get("port") or 443)),
                        _openssl(self.host, str(t0.get("address")), int(t0.get("port") or 443), proxy=True)]
            finding = self.add("proxy-protocol-mismatch", msg, evidence={"envoy_expects": expects, "lb_sends": sends, "signature": signature}, commands=cmds)
        status: Status = "fail" if finding else "pass"
        summary = finding.message if finding else (
            "PROXY protocol consistent" + (f" (Envoy expects: {expects}, LB sends: {sends})" if expects is not None else ""))
        self.nodes["load-balancer"] = NodeResult("load-balancer", status, summary, {"proxy_protocol": details})

    def finish(self) -> None:
        """Attach what the CAA and challenge checks saw to the nodes they explain."""
        if self.caa and "served-certificate" in self.nodes:
            self.nodes["served-certificate"].details["caa"] = self.caa
        if self.challenges and "dns" in self.nodes:
            self.nodes["dns"].details["acme_challenges"] = self.challenges


def caa_allows(records: list[str], wildcard: bool) -> tuple[bool, str]:
    """Does this CAA set (closest to the name) let letsencrypt.org issue by DNS-01?"""
    parsed = []
    for value in records:
        parts = value.split(None, 2)
        if len(parts) < 3:
            continue
        try:
            flags = int(parts[0])
        except ValueError:
            continue
        tag = parts[1].lower()
        text = txt_strings(parts[2])
        parsed.append((flags, tag, text))
    for flags, tag, _text in parsed:
        if flags & 128 and tag not in _KNOWN_CAA_TAGS:
            return False, f"unknown critical property {tag!r}"
    issue = [t for _f, tag, t in parsed if tag == "issue"]
    issuewild = [t for _f, tag, t in parsed if tag == "issuewild"]
    relevant, tag = (issuewild, "issuewild") if wildcard and issuewild else (issue, "issue")
    if not relevant:
        return True, "no issue property restricts issuance"
    names = []
    for text in relevant:
        domain, _, params = text.partition(";")
        domain = domain.strip().lower()
        names.append(domain or ";")
        if domain != "letsencrypt.org":
            continue
        methods = None
        for param in params.split(";"):
            k, _, v = param.strip().partition("=")
            if k.strip().lower() == "validationmethods":
                methods = [m.strip().lower() for m in v.split(",")]
        if methods is not None and "dns-01" not in methods:
            return False, f"{tag} letsencrypt.org allows only {', '.join(methods)}, not dns-01"
        return True, f"{tag} allows letsencrypt.org"
    return False, f"{tag} allows only {', '.join(names)}"


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


def _duration(seconds: int | float) -> str:
    """`1800` -> `30 min (1800 s)`: people read minutes, dig shows seconds."""
    secs = int(seconds)
    if secs < 120:
        return f"{secs} s"
    return f"{secs // 60} min ({secs} s)"
