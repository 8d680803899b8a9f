"""The edge itself: the http -> https redirect and PROXY protocol between the load balancer
and Envoy.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from edgedoctor import pemcerts as _certs
from edgedoctor.diagnosis.commands import curl_cmd, openssl_cmd
from edgedoctor.diagnosis.worldkit import REDIRECT_STATUSES, UNREACHED, WorldBase
from edgedoctor.model import NodeResult, Status


class EdgeAnalysis(WorldBase):
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
            self.add("redirect-missing", msg, severity="critical", evidence={"status": h["status"], "location": h["location"], "url": h["url"]}, commands=[curl_cmd(self.host, h["address"], "https", int(h["port"]))])
            self.nodes["http-redirect"] = NodeResult("http-redirect", "fail", msg, details)
            return
        if not answered:
            if not plain:
                self.nodes["http-redirect"] = NodeResult("http-redirect", "unknown", "http:// was not probed", details)
                return
            last = plain[-1]
            kind = last.get("error_kind")
            if kind in UNREACHED:
                self.nodes["http-redirect"] = NodeResult(
                    "http-redirect", "unknown", f"http://{self.host}/ could not be probed: {last.get('error')}", details)
                return
            msg = f"http://{self.host}/ gets no HTTP answer: {last.get('error')}"
            # https may still work: a missing redirect degrades, a loop breaks.
            self.add("redirect-missing", msg, evidence={"error": last.get("error"), "error_kind": kind}, commands=[curl_cmd(self.host, str(last.get("address")), "http", int(last.get("port") or 80))])
            self.nodes["http-redirect"] = NodeResult("http-redirect", "fail", msg, details)
            return
        h = answered[-1]
        status, location = h["status"], h.get("location")
        cmds = [curl_cmd(self.host, h["address"], "http", int(h["port"]))]
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
                                "lb_sends": sends, "probe": "plain reset/closed, PROXY header ok"}, commands=[curl_cmd(self.host, a, "https", p), openssl_cmd(self.host, a, p, proxy=True)])
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
                cmds = [curl_cmd(self.host, str(t0.get("address")), "https", int(t0.get("port") or 443)),
                        openssl_cmd(self.host, str(t0.get("address")), int(t0.get("port") or 443), proxy=True)]
            finding = self.add("proxy-protocol-mismatch", msg, evidence={"envoy_expects": expects, "lb_sends": sends, "signature": signature}, commands=cmds)
        status: Status = "fail" if finding else "pass"
        summary = finding.message if finding else (
            "PROXY protocol consistent" + (f" (Envoy expects: {expects}, LB sends: {sends})" if expects is not None else ""))
        self.nodes["load-balancer"] = NodeResult("load-balancer", status, summary, {"proxy_protocol": details})
