"""The live reader on a real kube-apiserver (tests/servers/kubeapi.py): every recording of
the library, loaded into the server, is diagnosed live as the recording expects.

For each recording its objects are created as a cluster holds them (statuses through the
status subresource, ownerReferences remapped to the new uids: the loader's job), then the
cluster is read by `edgedoctor`'s live reader as the `reader` user, bound only to
deploy/rbac-reader.yaml's edgedoctor-reader, and diagnosed together with the recording's
own DNS, TLS and HTTP evidence (those answers come from servers that are not here; the
probes are tested against real ones elsewhere). The verdict, category and root cause must
be the recording's, and no node may be unknown: the reader role is complete.

Time: the server stamps every creationTimestamp itself (now), while everything else in a
recording (certificate validity, renewal times, condition times) is at the recorded time.
The check is judged at the recorded time (`--now`, here Evidence.now): the objects then
look created after that instant, which the diagnosis says instead of printing negative
ages, and takes how long issuance has waited from the controllers' condition times.
Where creation order itself is the rule (the oldest of two conflicting routes wins), the
routes are created in their recorded order, a second apart, since the server counts in
seconds.

As the built-in `view` user (no Gateway API, cert-manager or Secret rules) the check says
in one line which kinds it could not read and which role to bind.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from edgedoctor.collect import CheckOptions, read_cluster
from edgedoctor.diagnosis.engine import diagnose
from edgedoctor.diagnosis.gaps import READER_ROLE
from edgedoctor.recording import load_recording
from tests.servers.kubeapi import KubeCluster

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "recordings").glob("*.yaml"))
# Kinds whose creation order the Gateway API makes a rule of (conflict resolution).
ORDERED = ("HTTPRoute", "GRPCRoute")


def _secret_values(obj: dict[str, Any], key: str) -> bytes | None:
    """What the recording says of a value it does not hold: an empty tls.key stays empty
    (the rest gets the loader's placeholder, which is no key at all and proves nothing)."""
    check = obj.get("tls_key") if isinstance(obj.get("tls_key"), dict) else {}
    if key == "tls.key" and check.get("present") is False:
        return b""
    return None


def _created(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("creationTimestamp") or "")


def load_in_order(cluster: KubeCluster, objects: list[dict[str, Any]]) -> None:
    cluster.reset()
    rest = [o for o in objects if o.get("kind") not in ORDERED]
    routes = sorted((o for o in objects if o.get("kind") in ORDERED), key=_created)
    cluster.load(rest, secret_values=_secret_values)
    last = None
    for route in routes:
        if last is not None and _created(route) != last:
            time.sleep(1.05)  # the server's timestamps are whole seconds
        cluster.load([route])
        last = _created(route)


def live_diagnosis(cluster: KubeCluster, path: Path, user: str) -> tuple[Any, dict[str, Any], Any]:
    recorded, doc = load_recording(str(path))
    load_in_order(cluster, recorded.cluster.objects)
    opts = CheckOptions(host=recorded.host, kubeconfig=str(cluster.kubeconfig(user)), timeout=30)
    live, source = read_cluster(opts)
    ev = recorded
    ev.cluster = live
    ev.source = source
    return diagnose(ev), doc["expected"], live


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_every_recording_is_diagnosed_live_as_the_reader(kube_cluster: KubeCluster, path: Path) -> None:
    d, expected, live = live_diagnosis(kube_cluster, path, "reader")
    assert live.errors == [], live.errors
    # No node unknown for want of a read: only those the recorded probes leave unknown
    # (no address to probe when the Gateway has none), as in the replay.
    replayed = diagnose(load_recording(str(path))[0])
    unknown = {n.node for n in d.tree if n.status in ("unknown", "error")}
    probes_only = {n.node for n in replayed.tree if n.status in ("unknown", "error")}
    assert unknown <= probes_only <= {"dns", "served-certificate", "http-redirect"}, (
        [f"{n.node}: {n.summary}" for n in d.tree if n.node in unknown - probes_only])
    got = (d.verdict, (d.root_cause or {}).get("code"), d.category)
    assert got == (expected["verdict"], expected["root_cause"], expected["category"]), (
        d.root_cause, [f.code for f in d.findings])


def test_view_user_is_told_in_one_line_what_it_may_not_read(kube_cluster: KubeCluster) -> None:
    path = ROOT / "recordings" / "healthy-single-gateway.yaml"
    recorded, _ = load_recording(str(path))
    load_in_order(kube_cluster, recorded.cluster.objects)
    proc = subprocess.run(
        [sys.executable, "-m", "edgedoctor", "check", recorded.host, "--kubeconfig",
         str(kube_cluster.kubeconfig("view")), "--offline", "-o", "json"],
        capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 3, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    refused = [ln for ln in lines if "may not read" in ln]
    assert len(refused) == 1, lines
    line = refused[0]
    # The kinds `view` has no rule for, every one of them (Secrets are not tried: without
    # the Gateways nothing names one), and the role that grants them to this user.
    for kind in ("Gateway", "GatewayClass", "HTTPRoute", "ReferenceGrant", "Certificate", "ClusterIssuer",
                 "Order", "Challenge", "EnvoyProxy"):
        assert kind in line, (kind, line)
    assert f"--clusterrole={READER_ROLE} --user={kube_cluster.users['view'].name}" in line, line
    # One line per cause: the nodes that are unknown for that reason are not repeated.
    assert not [ln for ln in lines if "forbidden" in ln and ln is not line], lines
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "unknown" and doc["unknown_reasons"][0] == line.removeprefix("edgedoctor: ")


def test_reader_reads_no_secret_it_is_not_pointed_at(kube_cluster: KubeCluster) -> None:
    """The reader may GET Secrets, never list them: the live read names each one."""
    path = ROOT / "recordings" / "healthy-two-gateways.yaml"
    d, _, live = live_diagnosis(kube_cluster, path, "reader")
    read = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in live.objects if o["kind"] == "Secret"}
    recorded = {(o["metadata"]["namespace"], o["metadata"]["name"])
                for o in load_recording(str(path))[0].cluster.objects if o["kind"] == "Secret"}
    assert read and read <= recorded
    for o in live.objects:
        if o["kind"] == "Secret":
            assert o["redacted"] is True and set(o["data"]) <= {"tls.crt", "ca.crt"}
            for v in o["data"].values():
                assert "PRIVATE KEY" not in base64.b64decode(v).decode()
