"""The served certificate: each TLS endpoint's chain judged against the host, the time, the
trusted roots and the certificate in the listener's Secret.
"""

from __future__ import annotations

from typing import Any

from edgedoctor import pemcerts as _certs
from edgedoctor.cloudflare import cloudflare_range
from edgedoctor.diagnosis.commands import openssl_cmd
from edgedoctor.diagnosis.worldkit import DEFAULT_RENEW_BEFORE, UNREACHED, WorldBase
from edgedoctor.model import NodeResult, Status
from edgedoctor.timefmt import time_left


class ServedAnalysis(WorldBase):
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
            status: Status = "unknown" if kinds <= set(UNREACHED) else "fail"
            self.nodes["served-certificate"] = NodeResult("served-certificate", status, msg, details)
            return
        # Addresses inside Cloudflare's ranges serve Cloudflare's edge certificate: judge the
        # Secret and issuer only on the others (the Gateway's addresses).
        judged = [t for t in ok if not cloudflare_range(str(t.get("address")))] or ok
        leaves = self._served_leaves(judged)
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
        status, summary = self._served_verdict(leaves)
        if len(leaves) > 1:
            summary += f" ({len(leaves)} different certificates across {len(judged)} endpoints)"
        if via_proxy:
            summary += " (only with a PROXY protocol header)"
        elif failures:
            summary += (f"; {len(failures)} other endpoint{'s' if len(failures) != 1 else ''} failed: "
                        f"{failures[0].get('error')}")
        self.nodes["served-certificate"] = NodeResult("served-certificate", status, summary, details)

    def _served_leaves(self, judged: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The distinct leaf certificates served (by SHA-256), each with its endpoints and
        the verdict on its chain."""
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
        return leaves

    def _served_verdict(self, leaves: dict[str, dict[str, Any]]) -> tuple[Status, str]:
        """The node's status and summary: the worst finding on it, or what is served."""
        codes = [f for f in self.findings if f.node == "served-certificate"]
        crit = [f for f in codes if f.severity == "critical"]
        warn = [f for f in codes if f.severity != "critical"]
        if crit:
            return "fail", crit[0].message
        if warn:
            return "warn", warn[0].message
        first = next(iter(leaves.values()))["summary"]
        unverified = [e for e in leaves.values() if e["verification"] and e["verification"].get("verified") is False]
        summary = (f"serves {first['subject']} from {first['issuer_cn'] or first['issuer']}, valid until "
                   f"{first['not_after']}, covers {self.host}")
        if unverified:
            return "warn", summary + f"; chain not verified: {unverified[0]['verification'].get('error')}"
        return "pass", summary

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
        cmds = [openssl_cmd(self.host, t0["address"], int(t0["port"]), bool(t0.get("proxy_protocol")))]
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

    def finish(self) -> None:
        """Attach what the CAA and challenge checks saw to the nodes they explain."""
        if self.caa and "served-certificate" in self.nodes:
            self.nodes["served-certificate"].details["caa"] = self.caa
        if self.challenges and "dns" in self.nodes:
            self.nodes["dns"].details["acme_challenges"] = self.challenges
