"""Lint results for people and for CI: text, JSON (the contract), JUnit XML, GitHub
Actions workflow commands. Ordering is stable: hosts by name, findings by severity then
code then file and line."""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from edgedoctor.lint.run import HostResult, LintFinding
from edgedoctor.model import SCHEMA_VERSION

_SEV = {"critical": 0, "warning": 1, "info": 2}


def _fkey(f: LintFinding) -> tuple[Any, ...]:
    loc = f.location
    return (_SEV.get(f.severity, 3), f.code, loc.file if loc else "", loc.line if loc else 0, f.message)


def ordered(results: list[HostResult]) -> list[HostResult]:
    out = sorted(results, key=lambda r: r.host)
    for r in out:
        # The root cause stays first; the rest in a stable order.
        root = [f for f in r.findings if f.code == r.root_code][:1]
        rest = sorted((f for f in r.findings if not root or f is not root[0]), key=_fkey)
        r.findings = root + rest
    return out


def to_json(results: list[HostResult], base: dict[str, Any] | None = None) -> str:
    # One host per line: readable, greppable, and written by json's C encoder (an indented
    # dump goes through the pure-Python one, slow for ten thousand hosts).
    hosts = ",\n".join("    " + json.dumps(r.to_dict(), ensure_ascii=False) for r in ordered(results))
    head = f'{{\n  "schema_version": {SCHEMA_VERSION},\n  "kind": "lint",\n'
    if base is not None:
        head += f'  "base": {json.dumps(base, ensure_ascii=False)},\n'
    return head + ('  "hosts": [\n' + hosts + "\n  ]\n}\n" if hosts else '  "hosts": []\n}\n')


def _where(f: LintFinding) -> str:
    return f"{f.location.file}:{f.location.line}" if f.location else "(not in the manifests)"


def _before_after(r: HostResult) -> str:
    if not r.has_before:
        return ""
    b = r.before
    was = "new host" if b is None else b["verdict"] + (f" {b['code']}" if b.get("code") else "")
    now = r.verdict + (f" {r.root_code}" if r.root_code else "")
    return f"{was} → {now}"


_RANK = {"ok": 0, "warning": 1, "critical": 2}
_LEVEL = {0: "OK", 1: "WARNING", 2: "CRITICAL"}


def to_text(results: list[HostResult], with_base: bool = False, exit_code: int | None = None) -> str:
    rs = ordered(results)
    crit = sum(r.verdict == "critical" for r in rs)
    warn = sum(r.verdict == "warning" for r in rs)
    if with_base:
        worse = sum(1 for r in rs if _RANK[r.verdict] > _RANK[(r.before or {}).get("verdict", "ok")])
        better = sum(1 for r in rs if r.before and _RANK[r.verdict] < _RANK.get(r.before["verdict"], 0))
        lines = [f"{_LEVEL.get(exit_code or 0, 'OK')} lint: {len(rs)} hosts changed, {worse} worse, {better} better"]
    else:
        worst = "CRITICAL" if crit else ("WARNING" if warn else "OK")
        lines = [f"{worst} lint: {len(rs)} hosts, {crit} critical, {warn} warning"]
    for r in rs:
        if with_base:
            change = _before_after(r)
            lines.append(f"{r.host}: {change}")
        elif r.verdict == "ok":
            lines.append(f"{r.host}: ok" + (" (not judged: " + "; ".join(r.not_judged) + ")" if r.not_judged else ""))
            continue
        else:
            lines.append(f"{r.host}: {r.verdict} {r.root_code}")
        for f in r.findings:
            lines.append(f"  {f.severity:<8} {f.code}  {_where(f)}  {f.object or ''}")
            lines.append(f"           {f.message}")
            for obj, loc in f.related:
                lines.append(f"           see {obj} at {loc.file}:{loc.line}" if loc else f"           see {obj}")
    return "\n".join(lines) + "\n"


def _grouped(results: list[HostResult]) -> list[tuple[LintFinding, list[str]]]:
    """One entry per problem (code, place, message without the host), with its hosts:
    a staging issuer behind fifty hosts is one annotation, not fifty."""
    groups: dict[tuple[Any, ...], tuple[LintFinding, list[str]]] = {}
    for r in ordered(results):
        for f in r.findings:
            loc = f.location
            key = (f.code, loc.file if loc else None, loc.line if loc else None, f.message.replace(r.host, "<host>"))
            if key not in groups:
                groups[key] = (f, [])
            groups[key][1].append(r.host)
    return sorted(groups.values(), key=lambda g: _fkey(g[0]))


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def to_github(results: list[HostResult]) -> str:
    out = []
    for f, hosts in _grouped(results):
        level = "error" if f.severity == "critical" else "warning"
        props = [f"title={_gh_escape(f'{f.code} ({len(hosts)} host' + ('s' if len(hosts) > 1 else '') + ')', True)}"]
        if f.location:
            props = [f"file={_gh_escape(f.location.file, True)}", f"line={f.location.line}"] + props
        msg = f.message if len(hosts) == 1 else f"{f.message} (hosts: {', '.join(hosts)})"
        out.append(f"::{level} {','.join(props)}::{_gh_escape(msg)}")
    return "\n".join(out) + ("\n" if out else "")


def to_junit(results: list[HostResult]) -> str:
    rs = ordered(results)
    failures = sum(1 for r in rs if r.verdict != "ok")
    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<testsuites name="edgedoctor lint" tests="{len(rs)}" failures="{failures}">',
             f'<testsuite name="edgedoctor lint" tests="{len(rs)}" failures="{failures}">']
    for r in rs:
        parts.append(f'<testcase classname="edgedoctor.lint" name={quoteattr(r.host)}>')
        if r.verdict != "ok":
            body = "\n".join(f"{f.severity} {f.code} {_where(f)} {f.object or ''}: {f.message}" for f in r.findings)
            change = _before_after(r)
            msg = f"{r.verdict} {r.root_code}" + (f" ({change})" if change else "")
            parts.append(f'<failure type={quoteattr(r.root_code or "")} message={quoteattr(msg)}>{escape(body)}</failure>')
        parts.append("</testcase>")
    parts += ["</testsuite>", "</testsuites>"]
    return "\n".join(parts) + "\n"


def render(results: list[HostResult], fmt: str, base: dict[str, Any] | None = None,
           exit_code: int | None = None) -> str:
    if fmt == "json":
        return to_json(results, base)
    if fmt == "junit":
        return to_junit(results)
    if fmt == "github":
        return to_github(results)
    return to_text(results, with_base=base is not None, exit_code=exit_code)
