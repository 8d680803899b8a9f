"""DNS records written by the real external-dns (v0.18.0, built by .ci/kube/build.sh) from
objects in the real API server, judged by edgedoctor as it judges a cluster's.

The cluster is the healthy base of the engine cases. external-dns runs once (`--once`) as
the base's own external-dns Deployment is configured (sources, TXT registry, owner id,
domain filter: read from that Deployment's args), with the rfc2136 provider against a
loopback bind9 that takes dynamic updates, instead of Cloudflare. edgedoctor then reads the
same cluster and asks the same bind9, as the zone's authoritative server and as resolver.

What the records are is external-dns's doing, not a fixture's: the A record of the route's
host at the Gateway's address, and its TXT registry records naming the owner.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rdatatype
import pytest

from edgedoctor.cli import main
from tests.casekit import server_objects
from tests.servers.common import Process, in_ci
from tests.servers.fixtures import named_factory  # noqa: F401 - pytest fixtures
from tests.servers.kubeapi import KubeCluster, build_dir
from tests.servers.named import NamedServer, zone_text
from tests.test_playbooks_kube import later
from tests.test_playbooks_plan import HOST, objects

ZONE = "example.com"
# Flags of the base Deployment that belong to its Cloudflare deployment, not to what it publishes.
_PROVIDER_FLAGS = ("--provider", "--interval", "--log-level", "--cloudflare")


def external_dns_binary() -> str:
    path = build_dir() / "bin" / "external-dns"
    if not os.access(path, os.X_OK):
        message = f"{path} is missing: run `bash .ci/kube/build.sh` (it builds external-dns v0.18.0)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return str(path)


def deployment_args(cluster: KubeCluster) -> list[str]:
    dep = cluster.api.get("Deployment", "external-dns", "external-dns")
    assert dep is not None
    args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
    return [a for a in args if not a.startswith(_PROVIDER_FLAGS)]


def run_external_dns(cluster: KubeCluster, named: NamedServer, tmp: Path, *, owner: str | None = None) -> str:
    """external-dns --once with the base Deployment's flags; returns its log."""
    args = deployment_args(cluster)
    if owner is not None:
        args = [a for a in args if not a.startswith("--txt-owner-id")] + [f"--txt-owner-id={owner}"]
    log = tmp / f"external-dns-{len(list(tmp.glob('external-dns-*.log')))}.log"
    proc = Process([
        external_dns_binary(), *args, "--once", "--log-level=debug",
        f"--kubeconfig={cluster.kubeconfig('admin')}",
        "--provider=rfc2136", f"--rfc2136-host={named.address}", f"--rfc2136-port={named.port}",
        f"--rfc2136-zone={ZONE}", "--rfc2136-insecure", "--rfc2136-tsig-axfr",
    ], log)
    try:
        rc = proc.proc.wait(timeout=90)
    finally:
        proc.stop()
    text = log.read_text(errors="replace")
    assert rc == 0, text[-3000:]
    return text


def records(named: NamedServer, name: str, rtype: str) -> list[str]:
    q = dns.message.make_query(name, rtype)
    r = dns.query.udp(q, named.address, port=named.port, timeout=2)
    return sorted(str(rd).strip('"') for rrset in r.answer if rrset.rdtype == dns.rdatatype.from_text(rtype)
                  for rd in rrset)


def check(cluster: KubeCluster, named: NamedServer, capsys: Any) -> dict[str, Any]:
    capsys.readouterr()
    main(["check", HOST, "--kubeconfig", str(cluster.kubeconfig("admin")), "--authoritative", named.label,
          "--nameserver", named.label, "--now", later(), "-o", "json", "--timeout", "15"])
    return json.loads(capsys.readouterr().out)


def dns_findings(report: dict[str, Any]) -> list[str]:
    return [f["code"] for f in report["findings"] if f["category"] == "dns-sync"]


def node(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(n for n in report["tree"] if n["node"] == name)


@pytest.fixture
def world(kube_cluster: KubeCluster, named_factory: Any,  # noqa: F811
          tmp_path: Path) -> Iterator[tuple[KubeCluster, NamedServer]]:
    external_dns_binary()
    kube_cluster.reset()
    kube_cluster.load(server_objects(objects()))
    named = named_factory({ZONE: zone_text(ZONE)}, allow_transfer=True)
    yield kube_cluster, named


def test_records_external_dns_writes_are_what_the_engine_expects(world: Any, tmp_path: Path, capsys: Any) -> None:
    cluster, named = world
    gw = cluster.api.get("Gateway", "gateway", "external")
    address = gw["status"]["addresses"][0]["value"]
    assert records(named, HOST, "A") == []
    before = check(cluster, named, capsys)
    assert "dns-no-record" in dns_findings(before), before["findings"]

    run_external_dns(cluster, named, tmp_path)
    assert records(named, HOST, "A") == [address]
    registry = [t for n in (HOST, f"a-{HOST}") for t in records(named, n, "TXT")]
    assert any("heritage=external-dns" in t and "external-dns/owner=prod-cluster" in t for t in registry), registry
    assert any("external-dns/resource=httproute/" in t for t in registry), registry

    after = check(cluster, named, capsys)
    assert dns_findings(after) == [], after["findings"]
    assert node(after, "dns")["status"] == "pass", node(after, "dns")


def test_a_new_load_balancer_address_until_external_dns_runs_again(world: Any, tmp_path: Path, capsys: Any) -> None:
    cluster, named = world
    run_external_dns(cluster, named, tmp_path)
    gw = cluster.api.get("Gateway", "gateway", "external")
    old = gw["status"]["addresses"][0]["value"]
    new = "203.0.113.77"
    gw["status"]["addresses"] = [{"type": "IPAddress", "value": new}]
    cluster.api.replace(gw, "status")

    stale = check(cluster, named, capsys)
    assert records(named, HOST, "A") == [old]
    assert "dns-wrong-target" in dns_findings(stale), stale["findings"]

    run_external_dns(cluster, named, tmp_path)
    assert records(named, HOST, "A") == [new]
    fresh = check(cluster, named, capsys)
    assert dns_findings(fresh) == [], fresh["findings"]


def test_records_owned_by_another_cluster(world: Any, tmp_path: Path, capsys: Any) -> None:
    """Another cluster's external-dns (another owner id) published the name first: ours
    will not touch it, and edgedoctor says whose it is."""
    cluster, named = world
    run_external_dns(cluster, named, tmp_path, owner="staging-cluster")
    gw = cluster.api.get("Gateway", "gateway", "external")
    gw["status"]["addresses"] = [{"type": "IPAddress", "value": "203.0.113.78"}]
    cluster.api.replace(gw, "status")
    log = run_external_dns(cluster, named, tmp_path)  # ours: skips the foreign record
    assert records(named, HOST, "A") == ["203.0.113.10"], log[-2000:]
    report = check(cluster, named, capsys)
    assert "dns-ownership-conflict" in dns_findings(report), report["findings"]
    finding = next(f for f in report["findings"] if f["code"] == "dns-ownership-conflict")
    assert "staging-cluster" in json.dumps(finding)
