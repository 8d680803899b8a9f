"""ACME issuance as the world shows it: CAA records and the DNS-01 challenge TXT records at the
zone's authoritative servers.
"""

from __future__ import annotations

from typing import Any

from edgedoctor import pemcerts as _certs
from edgedoctor.diagnosis.commands import dig
from edgedoctor.diagnosis.worldkit import (
    DNS01_WAIT_THRESHOLD,
    KNOWN_CAA_TAGS,
    WorldBase,
    bare_name,
    dns_queries,
    fqdn,
    query_error,
    txt_strings,
)


class AcmeAnalysis(WorldBase):
    # ------------------------------------------------------------------ CAA and DNS-01
    def analyze_caa(self) -> None:
        dns = self.dns
        if dns is None:
            return
        entries = dns_queries(dns, "caa")
        if not entries:
            return
        # Closest name first (most labels), as Let's Encrypt climbs the tree.
        entries = sorted(entries, key=lambda q: -len(bare_name(q.get("qname")).split(".")))
        wildcard = any(c.get("wildcard") for c in self.facts.acme_challenges or [])
        if not wildcard:
            wildcard = self._served_by_wildcard_only()
        found: dict[str, Any] | None = None
        lookup_errors: list[str] = []
        by_name: dict[str, list[dict[str, Any]]] = {}
        for q in entries:
            by_name.setdefault(bare_name(q.get("qname")), []).append(q)
        for name, qs in by_name.items():
            good = [q for q in qs if not q.get("error") and q.get("rcode") in ("NOERROR", "NXDOMAIN")]
            if not good:
                answered = [q for q in qs if not q.get("error")]
                if not answered:
                    # The probe got no answer: that says nothing about what Let's Encrypt sees.
                    self.caa = {"name": name, "unknown": query_error(qs[-1])}
                    return
                lookup_errors.append(f"{name}: {query_error(answered[-1])}")
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
                     f"refuses to issue when it cannot read CAA", severity=sev, node=node, evidence={"lookup_error": lookup_errors[0], "wildcard": wildcard}, commands=[dig(name, "CAA", qs[0]["server"]) for qs in [by_name[name]]])
            return
        if found is None:
            return
        allowed, why = caa_allows(found["records"], wildcard)
        self.caa = {**found, "allows_letsencrypt": allowed, "wildcard": wildcard}
        if not allowed:
            self.add("cert-caa-forbids", f"the CAA records at {found['name']} ({'; '.join(found['records'])}) do not allow "
                     f"letsencrypt.org to issue {'a wildcard ' if wildcard else ''}certificate for {self.host}: {why}", severity=sev, node=node, evidence={"caa_name": found["name"], "records": found["records"], "wildcard": wildcard}, commands=[dig(found["name"], "CAA", found["server"])])

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
        entries = dns_queries(self.dns, "acme-challenge")
        auth_servers = [f"{s['address']}:{s['port']}" if ":" not in str(s["address"]) else f"[{s['address']}]:{s['port']}"
                        for s in self.dns.get("authoritative_servers") or []]
        results = []
        waits: list[tuple[bool, str, str, dict[str, Any], list[str]]] = []
        for ch in challenges:
            dns_name = bare_name(ch.get("dns_name"))
            if dns_name.startswith("*."):
                dns_name = dns_name[2:]
            qname = fqdn(f"_acme-challenge.{dns_name}")
            key = ch.get("key")
            per: dict[str, str] = {}
            values: dict[str, list[str]] = {}
            for q in entries:
                if q.get("qname") != qname:
                    continue
                if q.get("error") or q.get("rcode") not in ("NOERROR", "NXDOMAIN"):
                    per[q["server"]] = f"error: {query_error(q)}"
                    continue
                vals = [txt_strings(rr["value"]) for rr in q.get("answer") or [] if rr.get("type") == "TXT"]
                values[q["server"]] = vals
                per[q["server"]] = "present" if key and key in vals else ("other-values" if vals else "absent")
            servers = list(per) or auth_servers
            have = [s for s in servers if per.get(s) == "present"]
            lacking = [s for s in servers if per.get(s) != "present"]
            result = {"challenge": f"{ch.get('namespace')}/{ch.get('name')}", "record": bare_name(qname),
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
                   f"the TXT record {bare_name(qname)} {where}")
            if ch.get("reason"):
                msg += f" (reason: {ch['reason']})"
            sev = "critical" if self.served_ok is not True else "warning"
            waits.append((not lacking, msg, sev,
                          {"record": bare_name(qname), "key_present_at": have, "key_missing_at": lacking,
                           "per_server": per, "values": values, "waiting_seconds": waited,
                           "reason": ch.get("reason")},
                          [dig(qname, "TXT", s) for s in servers[:3]]))
        # A record missing at the servers is the specific cause; present everywhere points at
        # cert-manager's own view (split horizon, recursive cache): the missing ones come first,
        # and of one code the first is the one reported.
        for _, msg, sev, evidence, cmds in sorted(waits, key=lambda w: w[0]):
            self.add("cert-dns01-propagation-wait", msg, severity=sev, evidence=evidence, commands=cmds)
        if results:
            self.challenges = results


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
        if flags & 128 and tag not in KNOWN_CAA_TAGS:
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
