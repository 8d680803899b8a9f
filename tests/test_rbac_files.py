"""deploy/rbac-*.yaml: least privilege that still covers what the code reads and writes."""

from __future__ import annotations

from pathlib import Path

import yaml

from edgedoctor.kinds import KINDS

ROOT = Path(__file__).resolve().parent.parent


def _rules(name: str) -> dict[tuple[str, str], set[str]]:
    doc = yaml.safe_load((ROOT / "deploy" / name).read_text())
    assert doc["kind"] == "ClusterRole"
    out: dict[tuple[str, str], set[str]] = {}
    for rule in doc["rules"]:
        assert "resourceNames" not in rule and "*" not in rule["verbs"] and "*" not in rule["resources"]
        for group in rule["apiGroups"]:
            for res in rule["resources"]:
                out.setdefault((group, res), set()).update(rule["verbs"])
    return out


def test_reader_reads_every_kind_and_writes_nothing() -> None:
    rules = _rules("rbac-reader.yaml")
    for k in KINDS:
        verbs = rules.get((k.group, k.plural))
        assert verbs, f"edgedoctor-reader cannot read {k.plural}"
        if k.kind in ("Secret", "ConfigMap"):
            # Only the named ones: listing Secrets would hand over every key of the cluster.
            assert verbs == {"get"}, (k.kind, verbs)
        else:
            assert "list" in verbs, (k.kind, verbs)
    for (group, res), verbs in rules.items():
        if res.startswith("self"):
            assert verbs == {"create"}
            continue
        assert verbs <= {"get", "list"}, (group, res, verbs)
        assert not res.endswith("/status")


def test_fixer_covers_every_write_the_playbooks_make() -> None:
    import re

    rules = _rules("rbac-fixer.yaml")
    from edgedoctor.kinds import BY_KIND

    src = "\n".join(p.read_text() for p in (ROOT / "edgedoctor" / "remedy").rglob("*.py"))
    created = set(re.findall(r'C\.create\("(\w+)"', src))
    assert created, "the remedy code creates objects: the scan must find them"
    for kind in created:
        k = BY_KIND[kind]
        assert {"create", "get"} <= rules.get((k.group, k.plural), set()), kind
    # The status subresource of Certificates (force-renew) is updated with PUT.
    assert "update" in rules[("cert-manager.io", "certificates/status")]
    for kind in ("Order", "CertificateRequest", "Challenge", "Secret"):
        k = BY_KIND[kind]
        assert {"delete", "get"} <= rules[(k.group, k.plural)], kind
    for (_group, res), verbs in rules.items():
        assert "list" not in verbs and "deletecollection" not in verbs and "escalate" not in verbs, res
