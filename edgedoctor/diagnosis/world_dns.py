"""The DNS half of the probes' layer: the authoritative and recursive answers against the
addresses the cluster expects, wildcard masking, propagation, external-dns' registry records.
"""

from __future__ import annotations

from typing import Any

from edgedoctor.cloudflare import cloudflare_range
from edgedoctor.diagnosis.commands import curl_cmd, dig
from edgedoctor.diagnosis.worldkit import (
    WorldBase,
    address_views,
    bare_name,
    dns_queries,
    duration_text,
    fqdn,
    is_ip,
    norm_target,
    parse_registry,
    txt_strings,
    wildcard_answers,
)
from edgedoctor.model import NodeResult, Status


class DnsAnalysis(WorldBase):
    # ------------------------------------------------------------------ dns
    def analyze_dns(self) -> None:
        dns = self.dns
        if dns is None:
            self.nodes["dns"] = NodeResult("dns", "skip", "not probed (offline)")
            return
        host = self.host
        expected = [norm_target(a) for a in self.facts.expected_addresses or [] if a]
        auth = address_views(dns, host, "authoritative")
        rec = address_views(dns, host, "recursive")
        wild = wildcard_answers(dns)
        details: dict[str, Any] = {
            "zone": dns.get("zone"),
            "soa": dns.get("soa"),
            "expected": expected,
            "expected_from": self.facts.expected_from,
            "authoritative": auth,
            "recursive": rec,
            "wildcard": wild,
        }
        first_auth = auth[0]["server"] if auth else None
        answering = [v for v in auth if v["state"] != "error"]
        if not answering:
            self._authoritative_unknown(dns, auth, rec, details)
            return

        auth_addrs = list(dict.fromkeys(a for v in answering for a in v["addresses"]))
        auth_names = list(dict.fromkeys(c for v in answering for c in v["cnames"]))
        cmds = [dig(host, "A", v["server"]) for v in auth[:2]]
        # Cloudflare-proxied answers: the Gateway's address is not what users reach.
        cf_hits = {a: r for a, r in ((a, cloudflare_range(a)) for a in auth_addrs) if r}
        if cf_hits and len(cf_hits) == len(auth_addrs):
            self.proxied = True

        status, summary = self._authoritative_coverage(dns, answering, auth_addrs, expected, cmds, first_auth)
        if any(v["state"] == "answer" for v in answering):
            target = self._authoritative_target(expected, auth_addrs, auth_names, cf_hits, cmds)
            if target is not None:
                status, summary = "fail", target
            masked = self._wildcard_masking(wild, auth_addrs, cmds, first_auth)
            if masked is not None and status == "pass":
                status, summary = "warn", masked

        if self.auth_state in ("right", "answer", "split"):
            s, m = self._recursive(rec, auth_addrs, auth_names, expected)
            if s != "pass" and status == "pass":
                status, summary = s, m
        if self.facts.external_dns is not None:
            self._ownership(dns, details)

        if not summary:
            summary = self._resolves_summary(answering, rec, auth_addrs, auth_names, expected)
        for f in self.findings:
            if f.node == "dns" and f.severity == "critical" and status != "fail":
                status, summary = "fail", f.message
        self.nodes["dns"] = NodeResult("dns", status, summary, details)

    def _authoritative_unknown(self, dns: dict[str, Any], auth: list[dict[str, Any]], rec: list[dict[str, Any]],
                               details: dict[str, Any]) -> None:
        """No authoritative server answered: what the host resolves to is not established."""
        why = dns.get("zone_error") or "; ".join(v.get("error", "") for v in auth) or "no authoritative server was asked"
        if rec and any(v["state"] == "answer" for v in rec):
            details["note"] = "the resolvers answer, but the authoritative view could not be established"
        self.nodes["dns"] = NodeResult("dns", "unknown", f"authoritative DNS for {self.host} unknown: {why}", details)
        self.auth_state = "unknown"

    def _authoritative_coverage(self, dns: dict[str, Any], answering: list[dict[str, Any]], auth_addrs: list[str],
                                expected: list[str], cmds: list[str], first_auth: str | None) -> tuple[Status, str]:
        """Does every authoritative server that answers have the host's record?"""
        host = self.host
        have = [v for v in answering if v["state"] == "answer"]
        missing = [v for v in answering if v["state"] != "answer"]
        if not have:
            self.auth_state = "missing"
            kind = "NXDOMAIN" if any(v["state"] == "nxdomain" for v in missing) else "no A/AAAA records (NODATA)"
            msg = f"the authoritative servers answer {kind} for {host}"
            if expected:
                msg += f"; expected {', '.join(expected)} ({self.facts.expected_from})"
            ev = {"servers": [v["server"] for v in missing], "answer": kind, "expected": expected,
                  "zone": dns.get("zone")}
            self.add("dns-no-record", msg, evidence=ev, commands=cmds + [dig(f"a-{host}", "TXT", first_auth)] if first_auth else cmds)
            return "fail", msg
        if missing:
            # Some authoritative servers lack the record: a secondary has not caught up.
            self.auth_state = "split"
            msg = (f"authoritative servers disagree about {host}: {', '.join(v['server'] for v in have)} "
                   f"answer {', '.join(auth_addrs)}, {', '.join(v['server'] for v in missing)} do not")
            serials = self._soa_serials()
            self.add("dns-propagation", msg, evidence={"have": [v["server"] for v in have], "missing": [v["server"] for v in missing],
                      "serials": serials}, commands=[dig(host, "A", v["server"]) for v in answering]
                     + [dig(dns.get("zone") or host, "SOA", v["server"]) for v in answering])
            return "warn", msg
        return "pass", ""

    def _authoritative_target(self, expected: list[str], auth_addrs: list[str], auth_names: list[str],
                              cf_hits: dict[str, str], cmds: list[str]) -> str | None:
        """Does the authoritative answer point at the Gateway? The failure, when it does not."""
        host, facts = self.host, self.facts
        matches = self._matches(expected, auth_addrs, auth_names)
        if self.proxied and facts.cloudflare_proxied is not False:
            msg = (f"{host} resolves to Cloudflare ({', '.join(f'{a} in {r}' for a, r in cf_hits.items())}), "
                   f"not to the Gateway" + (f" ({', '.join(expected)})" if expected else ""))
            self.add("dns-cloudflare-proxied", msg, evidence={"answer": auth_addrs, "cloudflare_ranges": cf_hits, "expected": expected,
                      "annotation_proxied": facts.cloudflare_proxied}, commands=cmds + [curl_cmd(host, auth_addrs[0], "https", 443)])
            self.auth_state = "proxied"
            return msg
        if matches is False:
            self.auth_state = "wrong"
            extra = sorted(set(auth_addrs + auth_names) - set(expected))
            lost = sorted(set(expected) - set(auth_addrs + auth_names))
            msg = (f"the authoritative answer for {host} is {', '.join(auth_addrs or auth_names)}, "
                   f"but the Gateway's address is {', '.join(expected)} ({facts.expected_from})")
            self.add("dns-wrong-target", msg, evidence={"answer": auth_addrs, "cnames": auth_names, "expected": expected,
                      "unexpected": extra, "missing": lost}, commands=cmds)
            return msg
        if self.auth_state is None:
            self.auth_state = "right" if matches else "answer"
        return None

    def _wildcard_masking(self, wild: dict[str, Any], auth_addrs: list[str], cmds: list[str],
                          first_auth: str | None) -> str | None:
        """The host answers only through a wildcard (reported; the message, when it does)."""
        if not wild["host_only_by_wildcard"]:
            return None
        host = self.host
        msg = (f"{host} has no record of its own: a wildcard answers for it "
               f"({', '.join(wild['wildcard_answer'])}), hiding that the specific record is missing")
        self.add("dns-wildcard-masking", msg, evidence={"wildcard_answer": wild["wildcard_answer"], "servers": wild["servers"],
                  "host_answer": auth_addrs}, commands=cmds + [dig(f"edgedoctor-random-label-check.{host.split('.', 1)[1]}", "A", first_auth),
                         dig(f"*.{host.split('.', 1)[1]}", "A", first_auth)] if first_auth else cmds)
        return msg

    def _resolves_summary(self, answering: list[dict[str, Any]], rec: list[dict[str, Any]], auth_addrs: list[str],
                          auth_names: list[str], expected: list[str]) -> str:
        where = f"{len(answering)} authoritative server{'s' if len(answering) != 1 else ''}"
        ok_rec = [v for v in rec if v["state"] == "answer"]
        if ok_rec:
            where += f" and {len(ok_rec)} resolver{'s' if len(ok_rec) != 1 else ''}"
        summary = f"{self.host} resolves to {', '.join(auth_addrs or auth_names)} at {where}"
        if expected and self.auth_state == "right":
            summary += " (the Gateway's address)"
        elif not expected:
            summary += " (no expected address known)"
        return summary

    def _soa_serials(self) -> dict[str, int]:
        out: dict[str, int] = {}
        zone = fqdn(self.dns.get("zone") or "") if self.dns else ""
        for q in dns_queries(self.dns or {}, "soa"):
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
        exp_ips = {e for e in expected if is_ip(e)}
        exp_names = {e for e in expected if not is_ip(e)}
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
        cmds = [dig(self.host, "A", s["server"], recursive=True) for s in stale]
        # A resolver that caches "no such name" sends its users nowhere: the host does not
        # work for them now, until the negative answer expires. One still giving an older
        # address sends them to the old Gateway, which may still answer: a warning.
        negative = [s for s in stale if isinstance(s["answer"], str)]
        if negative:
            waits = [s["wait_seconds"] for s in negative if s.get("wait_seconds") is not None]
            left = (f"; users behind {'them' if len(negative) > 1 else 'it'} cannot reach {self.host} for up to "
                    f"{duration_text(max(waits))} more (the zone's negative TTL)" if waits else
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
        queries = dns_queries(dns, "txt-registry")
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
                    foreign_txt.append({"name": bare_name(rr.get("name")), "text": text[:120]})
                    continue
                entry = {"name": bare_name(rr.get("name")), "server": q["server"], "owner": labels.get("owner"),
                         "resource": labels.get("resource")}
                if entry not in registry:
                    registry.append(entry)
        details["registry"] = {"owner_id": owner_id, "records": registry, "other_txt": foreign_txt,
                               "asked": [bare_name(q.get("qname")) for q in queries][:8]}
        if not queries:
            details["registry"]["note"] = "no TXT registry names were asked"
            return
        record_ok = self.auth_state in ("right",)
        record_exists = self.auth_state in ("right", "wrong", "answer", "split", "proxied") and not (
            details.get("wildcard", {}).get("host_only_by_wildcard"))
        # A record that is currently right only degrades: external-dns cannot manage it.
        severity = "warning" if record_ok else "critical"
        first = queries[0]["server"]
        cmds = [dig(bare_name(q.get("qname")), "TXT", first) for q in queries[:3]] + [dig(self.host, "A", first)]
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
