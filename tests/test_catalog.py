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
        # Declared alternatives: another value than the default, each with its situation.
        for key, default, allowed in (("severities", "severity", {"info", "warning", "critical"}),
                                      ("nodes", "node", allowed_nodes)):
            alt = e.get(key) or {}
            assert isinstance(alt, dict), (code, key)
            for value, when in alt.items():
                assert value in allowed and value != e[default], (code, key, value)
                assert isinstance(when, str) and when.strip(), (code, key, value)


def _placements() -> list[tuple[str, str, str, str]]:
    """(where, code, key, value) of every literal severity=/node= a rule passes with a literal code."""
    out = []
    for path in [*(PKG / "diagnosis").glob("*.py"), *(PKG / "lint").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add"
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                continue
            for kw in node.keywords:
                if kw.arg in ("severity", "node"):
                    values = [c.value for c in ast.walk(kw.value) if isinstance(c, ast.Constant) and isinstance(c.value, str)]
                    out += [(f"{path.name}:{node.lineno}", node.args[0].value, kw.arg, v) for v in values]
    return out


def test_rules_ask_only_for_declared_severities_and_nodes():
    """A rule names the code; another severity or node than the entry's must be declared there
    (checked statically, so branches no case reaches are held to it too)."""
    found = _placements()
    assert found, "no rule passes a severity or node: the scan is broken"
    undeclared = []
    for where, code, key, value in found:
        e = catalog.entry(code)
        declared = {e["severity"], *(e.get("severities") or {})} if key == "severity" else {e["node"], *(e.get("nodes") or {})}
        if value not in declared:
            undeclared.append(f"{where} {code} {key}={value}")
    assert undeclared == []


def test_an_undeclared_severity_is_refused():
    import pytest

    from edgedoctor.diagnosis.findings import UndeclaredPlacement, new_finding

    assert new_finding("route-missing", "m").severity == catalog.entry("route-missing")["severity"]
    with pytest.raises(UndeclaredPlacement):
        new_finding("route-missing", "m", severity="info")
    with pytest.raises(UndeclaredPlacement):
        new_finding("route-missing", "m", node="secret")
    assert new_finding("dns-propagation", "m", severity="critical").severity == "critical"


def test_playbook_ids_in_checks_exist():
    pb_dir = Path(__file__).resolve().parent.parent / "playbooks"
    ids = {yaml.safe_load(p.read_text())["id"] for p in pb_dir.glob("*.yaml")}
    named = [(code, pb) for code in catalog.all_codes() for pb in catalog.entry(code).get("playbooks") or []]
    assert ids and named, "the catalog names no playbook, or playbooks/ is empty"
    assert [(code, pb) for code, pb in named if pb not in ids] == []
