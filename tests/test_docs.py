"""The documentation stays inside the repository: no pointer to files elsewhere, and
every relative link of a Markdown page leads to a file that exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Paths of the machine the project was written on, and design notes kept outside the repo.
OUTSIDE = re.compile(r"/work/|shared/(design|reference)/")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _tracked() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / p for p in out.splitlines() if p.endswith((".md", ".py", ".yaml", ".toml", ".sh", ".txt"))
            and "__snapshots__" not in p and (ROOT / p).is_file()]


def test_no_pointer_outside_the_repository():
    found = [f"{p.relative_to(ROOT)}:{i}" for p in _tracked() if p.name != "test_docs.py"
             for i, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
             if OUTSIDE.search(line)]
    assert found == []


def test_relative_markdown_links_resolve():
    broken = []
    for p in _tracked():
        if p.suffix != ".md":
            continue
        for target in LINK.findall(p.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (p.parent / target).exists():
                broken.append(f"{p.relative_to(ROOT)} -> {target}")
    assert broken == []


def test_the_contract_names_every_key_the_json_has():
    from edgedoctor.model import Diagnosis, Finding, NodeResult

    page = (ROOT / "docs" / "cli-contract.md").read_text(encoding="utf-8")
    d = Diagnosis(host="h", verdict="warning", category=None, root_cause=None,
                  findings=[Finding("c", "warning", "dns", "m")], tree=[NodeResult("dns", "pass", "s")],
                  source={}, generated_at="t", unknown_reasons=["r"], verdict_label="l")
    doc = d.to_dict()
    keys = set(doc) | set(doc["findings"][0]) | set(doc["tree"][0])
    assert sorted(k for k in keys if f"`{k}`" not in page) == []
