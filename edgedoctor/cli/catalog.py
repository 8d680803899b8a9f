"""`edgedoctor checks` (the catalog of root causes) and `edgedoctor explain CODE`."""

from __future__ import annotations

import argparse

from edgedoctor.cli.common import err


def cmd_checks(_: argparse.Namespace) -> int:
    from edgedoctor import catalog

    rows = catalog.all_entries()
    width = max(len(e["code"]) for e in rows)
    for e in sorted(rows, key=lambda e: (e.get("category", ""), e["code"])):
        print(f"{e['code']:<{width}}  {e.get('category', ''):<13}  {e.get('severity', ''):<8}  {e.get('title', '')}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from edgedoctor import catalog

    try:
        e = catalog.entry(args.code.strip().lower())
    except catalog.UnknownCode:
        return err(f"unknown code {args.code!r}; `edgedoctor checks` lists them")
    out = [f"{e['code']}: {e.get('title', '')}", f"category: {e.get('category')}   default severity: {e.get('severity')}   node: {e.get('node')}", ""]
    out += [str(e.get("summary", "")).strip(), "", "Why it happens:"]
    out += [f"  {line}" for line in str(e.get("why", "")).strip().splitlines()]
    out += ["", "What edgedoctor looks at:"] + [f"  - {s}" for s in e.get("signals") or []]
    out += ["", "Confirm by hand:"] + [f"  $ {c.replace('{{', '{').replace('}}', '}')}" for c in e.get("confirm") or []]
    out += ["", "Remedy:"] + [f"  {line}" for line in str(e.get("remedy", "")).strip().splitlines()]
    if e.get("playbooks"):
        out += ["", "Playbooks: " + ", ".join(e["playbooks"])]
    if e.get("references"):
        out += ["", "References:"] + [f"  - {r}" for r in e["references"]]
    print("\n".join(out))
    return 0
