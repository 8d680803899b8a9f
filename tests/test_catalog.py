"""checks/ and the engine speak of the same codes: every code the engine can emit has
an entry, and every entry names a code some rule emits."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from edgedoctor import catalog

PKG = Path(__file__).resolve().parent.parent / "edgedoctor"
CODE_ARGS = {"add"}  # ctx.add(code, ...)


def emitted_codes() -> set[str]:
    codes: set[str] = set()
    for path in (PKG / "diagnosis").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            if name in CODE_ARGS and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                codes.add(node.args[0].value)
            if name in ("Finding", "_finding", "finding", "Classified"):
                for kw in node.keywords:
                    if kw.arg == "code" and isinstance(kw.value, ast.Constant):
                        codes.add(kw.value.value)
                if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                    codes.add(node.args[0].value)
    # Codes starting with "_" are internal classifications mapped to catalog codes.
    return {c for c in codes if "-" in c and not c.startswith("_")}


def test_every_emitted_code_has_an_entry():
    missing = emitted_codes() - set(catalog.all_codes())
    assert not missing, f"codes without a checks/ entry: {sorted(missing)}"


def test_every_entry_has_a_rule():
    unused = set(catalog.all_codes()) - emitted_codes()
    assert not unused, f"checks/ entries no rule emits: {sorted(unused)}"


def test_entries_are_well_formed():
    allowed_nodes = {"dns", "load-balancer", "gateway", "listener", "route", "backend", "certificate",
                     "certificate-request", "order", "challenge", "secret", "served-certificate", "http-redirect"}
    for code in catalog.all_codes():
        e = catalog.entry(code)
        assert e["code"] == code
        assert e["category"] in ("app-routing", "dns-sync", "cert-issuance")
        assert e["severity"] in ("info", "warning", "critical")
        assert e["node"] in allowed_nodes
        for key in ("title", "summary", "why", "remedy"):
            assert str(e[key]).strip(), (code, key)
        assert e["confirm"] and e["references"]


def test_playbook_ids_in_checks_exist():
    pb_dir = Path(__file__).resolve().parent.parent / "playbooks"
    ids = {yaml.safe_load(p.read_text())["id"] for p in pb_dir.glob("*.yaml")}
    named = [(code, pb) for code in catalog.all_codes() for pb in catalog.entry(code).get("playbooks") or []]
    assert ids and named, "the catalog names no playbook, or playbooks/ is empty"
    assert [(code, pb) for code, pb in named if pb not in ids] == []
