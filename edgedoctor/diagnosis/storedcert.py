"""The certificate stored in the listener's Secret: issuer, names, validity, renewal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from edgedoctor.certinfo import cert_info, seconds_left, split_pem
from edgedoctor.diagnosis import commands as cmd
from edgedoctor.diagnosis.context import Ctx
from edgedoctor.diagnosis.hostnames import san_covers, sans_cover
from edgedoctor.diagnosis.index import (
    Obj,
    condition,
    name_of,
    ns_of,
    spec,
    status,
)
from edgedoctor.model import Status
from edgedoctor.timefmt import parse_rfc3339, time_left

DEFAULT_RENEW_WINDOW = timedelta(days=15)


def secret_expired(ctx: Ctx) -> bool:
    if not ctx.secret_pem:
        return False
    pems = split_pem(ctx.secret_pem)
    try:
        return bool(pems) and seconds_left(cert_info(pems[0]), ctx.now) <= 0
    except ValueError:
        return False



def renew_window(cert: Obj | None, info: dict[str, Any]) -> timedelta:
    if cert is not None:
        rb = spec(cert).get("renewBefore")
        if isinstance(rb, str):
            td = parse_duration(rb)
            if td:
                return max(td, DEFAULT_RENEW_WINDOW)
    return DEFAULT_RENEW_WINDOW


def parse_duration(text: str) -> timedelta | None:
    import re

    total = 0.0
    matched = False
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)(h|m|s)", text):
        matched = True
        total += float(num) * {"h": 3600, "m": 60, "s": 1}[unit]
    return timedelta(seconds=total) if matched else None


def stored_certificate(ctx: Ctx, sref: str, pem: str, cert: Obj | None) -> None:
    pems = split_pem(pem)
    try:
        info = cert_info(pems[0])
    except ValueError as e:
        ctx.set_node("secret", "warn", f"Secret {sref}: tls.crt could not be parsed as a certificate ({e})")
        return
    left = seconds_left(info, ctx.now)
    details = {
        "secret": sref,
        "issuer": info["issuer_text"],
        "sans": info["sans"],
        "serial": info["serial"],
        "not_after": info["not_after"],
    }
    problems = []
    sev_status: Status = "pass"
    if info["staging"]:
        problems.append("issued by Let's Encrypt STAGING")
        ctx.add(
            "cert-staging-issuer",
            f"Secret {sref} holds a certificate from Let's Encrypt staging ({info['issuer_text']}); browsers do not trust it",
            node="secret",
            evidence={**details, "issuerRef": spec(cert).get("issuerRef") if cert else None},
            commands=[f"kubectl -n {sref.split('/')[0]} get secret {sref.split('/')[1]} -o jsonpath='{{.data.tls\\.crt}}' | base64 -d | openssl x509 -noout -issuer"],
        )
        sev_status = "warn"
    if not sans_cover(info["sans"], ctx.host):
        problems.append(f"SANs {', '.join(info['sans'])} do not cover {ctx.host}")
        ctx.add(
            "cert-san-mismatch",
            f"the certificate in Secret {sref} covers {', '.join(info['sans']) or 'no DNS names'}, not {ctx.host}"
            + (" (a wildcard covers exactly one label)" if any(s.startswith("*.") and ctx.host.endswith(s[1:]) and not san_covers(s, ctx.host) for s in info["sans"]) else ""),
            node="secret",
            evidence=details,
            commands=[f"kubectl -n {sref.split('/')[0]} get secret {sref.split('/')[1]} -o jsonpath='{{.data.tls\\.crt}}' | base64 -d | openssl x509 -noout -ext subjectAltName"],
        )
        sev_status = "fail"
    if left <= 0:
        problems.append(f"expired at {info['not_after']}")
        ctx.add(
            "cert-expired",
            f"the certificate in Secret {sref} expired at {info['not_after']}",
            node="secret",
            evidence=details,
            commands=[cmd.cmctl_status(ns_of(cert), name_of(cert))] if cert else [],
        )
        sev_status = "fail"
    else:
        window = renew_window(cert, info)
        if timedelta(seconds=left) <= window and renewal_failing(ctx, cert):
            days = left / 86400
            problems.append(f"expires in {time_left(left)} and renewal is not succeeding")
            ctx.add(
                "cert-expiring",
                f"the certificate in Secret {sref} expires in {time_left(left)} ({info['not_after']}) and renewal is not succeeding",
                node="secret",
                evidence={**details, "days_left": round(days, 1), "notes": ctx.notes or None},
                commands=[cmd.cmctl_status(ns_of(cert), name_of(cert))] if cert else [],
            )
            if sev_status == "pass":
                sev_status = "warn"
    ctx.set_node("secret", sev_status, f"Secret {sref}: " + ("; ".join(problems) if problems else
                 f"{info['issuer_text']}, valid until {info['not_after']}"), **details)


def renewal_failing(ctx: Ctx, cert: Obj | None) -> bool:
    if cert is None:
        return True  # nothing renews it
    st = status(cert)
    ready = (condition(st.get("conditions"), "Ready") or {}).get("status") == "True"
    issuing = condition(st.get("conditions"), "Issuing") or {}
    if not ready or st.get("lastFailureTime") or (issuing.get("status") == "False" and issuing.get("reason") not in (None, "Issued")):
        return True
    renewal = parse_rfc3339(st.get("renewalTime"))
    if renewal is not None and ctx.now > renewal + timedelta(hours=1):
        return True
    return any(f.code == "cert-manager-down" for f in ctx.findings)
