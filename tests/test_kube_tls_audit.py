"""What the real API server showed about credentials (issue 10, point 5).

- A kubeconfig with `insecure-skip-tls-verify: true` (lab and kind clusters): urllib3 warns
  with InsecureRequestWarning on every request, about twenty multi-line Python warnings for
  one check. edgedoctor says it once, in one line of its own.
- The audit log names the user the API server authenticated (SelfSubjectReview), not the
  login of the machine the command ran on.

Both run edgedoctor as a person would, in a subprocess: the warnings filter and stderr are
the real ones, not pytest's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.casekit import server_objects
from tests.servers.kubeapi import KubeCluster
from tests.test_playbooks_kube import later
from tests.test_playbooks_plan import HOST, case_edits, objects

ROOT = Path(__file__).resolve().parent.parent


def edgedoctor(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edgedoctor", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL,
                          env={**os.environ, "PYTHONWARNINGS": "default", **(env or {})})


def test_insecure_kubeconfig_is_said_once_in_one_line(kube_cluster: KubeCluster, tmp_path: Path) -> None:
    kube_cluster.reset()
    kube_cluster.load(server_objects(objects()))
    insecure = kube_cluster.kubeconfig("admin", insecure=True)
    run = edgedoctor("check", HOST, "--kubeconfig", str(insecure), "--offline", "--now", later(), "-o", "json")
    assert run.returncode in (0, 1, 2), run.stderr
    report = json.loads(run.stdout)
    assert report["source"]["kind"] == "live" and "unknown_reasons" not in report, report
    lines = run.stderr.splitlines()
    assert "InsecureRequestWarning" not in run.stderr and "urllib3" not in run.stderr
    said = [x for x in lines if "not verified" in x]
    assert len(said) == 1 and said[0].startswith("edgedoctor: warning:"), run.stderr
    assert kube_cluster.server in said[0] and "insecure-skip-tls-verify" in said[0]
    assert kube_cluster.users["admin"].token not in run.stderr + run.stdout

    # The fix command opens the cluster twice (reader, writer): still one line.
    fix = edgedoctor("fix", "force-renew", HOST, "--kubeconfig", str(insecure), "--offline", "--now", later(),
                     "--audit-log", str(tmp_path / "audit.log"))
    assert "InsecureRequestWarning" not in fix.stderr
    assert len([x for x in fix.stderr.splitlines() if "not verified" in x]) == 1, fix.stderr


def test_verified_kubeconfig_says_nothing_about_tls(kube_cluster: KubeCluster) -> None:
    kube_cluster.reset()
    kube_cluster.load(server_objects(objects()))
    run = edgedoctor("check", HOST, "--kubeconfig", str(kube_cluster.kubeconfig("admin")), "--offline", "--now",
                     later(), "-o", "json")
    assert json.loads(run.stdout)["source"]["kind"] == "live"
    assert "not verified" not in run.stderr and "Warning" not in run.stderr, run.stderr


def test_audit_log_names_the_cluster_user(kube_cluster: KubeCluster, tmp_path: Path) -> None:
    kube_cluster.reset()
    kube_cluster.load(server_objects(objects(case_edits("cert-expired"))))
    audit = tmp_path / "audit.log"
    run = edgedoctor("fix", "force-renew", HOST, "--kubeconfig", str(kube_cluster.kubeconfig("fixer")), "--offline",
                     "--now", later(), "--audit-log", str(audit), "--apply", "--yes",
                     env={"USER": "someone-else", "LOGNAME": "someone-else"})
    lines = [json.loads(x) for x in audit.read_text().splitlines()]
    applied = [x for x in lines if x["applied"]]
    assert applied, run.stdout + run.stderr
    # The fixer's token, whatever the login of this machine says.
    assert {x["user"] for x in lines} == {kube_cluster.users["fixer"].name}
    assert {x["local_user"] for x in lines} == {"someone-else"}
