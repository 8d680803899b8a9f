"""Commands shown to people: one at a time, and a step that reads hands over only reads.

The rule is checked on every command the library's recordings produce: each finding's
"see it yourself" commands and each read step of every playbook offered for them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edgedoctor.collect import CheckOptions, gather
from edgedoctor.diagnosis.engine import diagnose
from edgedoctor.recording import read_recording_doc
from edgedoctor.shellcmd import changes_something, reading_commands, split_commands

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "recordings").glob("*.yaml"))


@pytest.mark.parametrize("cmd", [
    "kubectl -n gateway get order x -o yaml",
    "kubectl --context prod -n cert-manager logs deploy/cert-manager --since=1h | grep -i dns_records",
    "kubectl auth can-i patch certificates -n gateway",
    "kubectl rollout status deployment/x -n y",
    "cmctl status certificate -n gateway wildcard",
    "dig +short TXT _acme-challenge.example.com @198.51.100.53",
    "openssl s_client -connect 203.0.113.45:443 -servername a.example.com </dev/null | openssl x509 -noout -dates",
    "curl -sI http://a.example.com/",
    'curl -s -H "Authorization: Bearer $T" "https://api.example/zones/$Z/dns_records?type=TXT"',
    "curl -X GET https://x.example/",
    "helm -n cert-manager list",
    "edgedoctor check a.example.com",
    "edgedoctor fix force-renew a.example.com",
    "kubectl edgedoctor check a.example.com",
])
def test_reads(cmd):
    assert not changes_something(cmd), cmd


@pytest.mark.parametrize("cmd", [
    'curl -s -X DELETE -H "Authorization: Bearer $T" "https://api.example/zones/$Z/dns_records/$R"',
    "curl --request=POST https://x.example/",
    "curl -d @body.json https://x.example/",
    "kubectl -n gateway delete order x",
    "kubectl -n gateway patch certificate x --type=merge -p '{}'",
    "kubectl apply -f - <<'EOF'\nkind: X\nEOF",
    "kubectl rollout restart deployment/x",
    "kubectl -n kube-system edit configmap k8s-gateway",
    "cmctl renew -n gateway wildcard",
    "helm upgrade cert-manager jetstack/cert-manager --version v1.16.4 --reuse-values",
    "edgedoctor fix force-renew a.example.com --apply",
    "dig a.example.com && rm -rf /tmp/x",
    "sed -i s/a/b/ f",
    "some-unknown-tool --flag",
])
def test_changes(cmd):
    assert changes_something(cmd), cmd


def test_split_keeps_heredocs_and_continuations_whole():
    block = ("# list first\ndig +short TXT a.example\nkubectl apply -f - <<'EOF'\nkind: X\nmetadata:\n  name: y\nEOF\n"
             "helm repo update jetstack\ncurl -s \\\n  https://x.example/")
    assert split_commands(block) == [
        "dig +short TXT a.example",
        "kubectl apply -f - <<'EOF'\nkind: X\nmetadata:\n  name: y\nEOF",
        "helm repo update jetstack",
        "curl -s \\\n  https://x.example/",
    ]
    reads, changes = reading_commands(block)
    assert reads == ["dig +short TXT a.example", "curl -s \\\n  https://x.example/"]
    assert len(changes) == 2


def _library():
    for f in FILES:
        doc = read_recording_doc(f)
        ev = gather(CheckOptions(host=doc["evidence"]["host"], replay=str(f)))
        yield f.name, ev, diagnose(ev)


def test_every_read_the_library_offers_only_reads():
    from edgedoctor.remedy import build_plan

    plans = 0
    for name, ev, d in _library():
        for f in d.findings:
            for c in f.commands:
                assert not changes_something(c), f"{name} {f.code}: {c}"
            for p in f.playbooks:
                try:
                    plan = build_plan(p, ev, d, read_only=True)
                except Exception:  # a playbook that does not apply here
                    continue
                plans += 1
                for s in plan.steps:
                    if s.kind == "read":
                        _reads, changes = reading_commands(s.command or "")
                        assert not changes, f"{name} {p} read step {s.id}: {changes}"
    assert plans >= 20
