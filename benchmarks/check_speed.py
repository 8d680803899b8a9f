"""Speed of `edgedoctor check` on a large cluster and its start-up, against baselines
measured in the same run.

    python benchmarks/check_speed.py [--routes 10000] [--gateways 1000] [--certificates 5000] [--repeat 3]

Prints:
  * the check's time on a generated snapshot (10,000 HTTPRoutes, 1,000 Gateways, 5,000
    Certificates with their CertificateRequests, Orders and Challenges) against the time to
    merely json.load the same file (goal: at most 2x);
  * the start-up of `edgedoctor check --snapshot SMALL --offline` against bare
    `python -c pass` (goal: at most 0.35 s more).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW = "2026-12-02T03:00:00Z"


def _cond(type_: str, status: str, reason: str, message: str = "") -> dict:
    return {"type": type_, "status": status, "reason": reason, "message": message}


def generate(routes: int, gateways: int, certificates: int) -> dict:
    """A cluster with many tenants: gateway g<i> serves *.t<i>.example.com."""
    items: list[dict] = [
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "eg"},
         "spec": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"},
         "status": {"conditions": [_cond("Accepted", "True", "Accepted")]}},
    ]
    for g in range(gateways):
        ns = f"tenant-{g}"
        items.append({
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": f"g{g}", "namespace": ns, "uid": f"gw-{g}"},
            "spec": {"gatewayClassName": "eg", "listeners": [
                {"name": "http", "protocol": "HTTP", "port": 80, "hostname": f"*.t{g}.example.com"},
                {"name": "https", "protocol": "HTTPS", "port": 443, "hostname": f"*.t{g}.example.com",
                 "allowedRoutes": {"namespaces": {"from": "All"}},
                 "tls": {"certificateRefs": [{"kind": "Secret", "name": f"wild-t{g}-tls"}]}}]},
            "status": {"addresses": [{"type": "IPAddress", "value": f"198.51.{g // 250}.{g % 250 + 1}"}],
                       "conditions": [_cond("Accepted", "True", "Accepted"), _cond("Programmed", "True", "Programmed")],
                       "listeners": [{"name": n, "attachedRoutes": 10, "conditions": [
                           _cond("Accepted", "True", "Accepted"), _cond("Programmed", "True", "Programmed"),
                           _cond("ResolvedRefs", "True", "ResolvedRefs")]} for n in ("http", "https")]},
        })
    for r in range(routes):
        g = r % gateways
        ns = f"app-{r % 500}"
        items.append({
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": f"r{r}", "namespace": ns, "uid": f"rt-{r}", "creationTimestamp": "2026-10-01T00:00:00Z"},
            "spec": {"parentRefs": [{"name": f"g{g}", "namespace": f"tenant-{g}", "sectionName": "https"}],
                     "hostnames": [f"svc{r}.t{g}.example.com"],
                     "rules": [{"backendRefs": [{"name": f"svc{r}", "port": 80}]}]},
            "status": {"parents": [{"parentRef": {"name": f"g{g}", "namespace": f"tenant-{g}", "sectionName": "https"},
                                    "conditions": [_cond("Accepted", "True", "Accepted"), _cond("ResolvedRefs", "True", "ResolvedRefs")]}]},
        })
    for c in range(certificates):
        g = c % gateways
        ns = f"tenant-{g}"
        cname = f"wild-t{g}" if c < gateways else f"extra-{c}"
        cuid, cruid, ouid = f"c-{c}", f"cr-{c}", f"o-{c}"
        items.append({
            "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": cname, "namespace": ns, "uid": cuid},
            "spec": {"secretName": f"{cname}-tls", "dnsNames": [f"*.t{g}.example.com"],
                     "issuerRef": {"name": "le", "kind": "ClusterIssuer"}},
            "status": {"conditions": [_cond("Ready", "True", "Ready")], "revision": 1},
        })
        items.append({
            "apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest",
            "metadata": {"name": f"{cname}-1", "namespace": ns, "uid": cruid,
                         "annotations": {"cert-manager.io/certificate-revision": "1"},
                         "ownerReferences": [{"kind": "Certificate", "name": cname, "uid": cuid, "controller": True}]},
            "status": {"conditions": [_cond("Ready", "True", "Issued")]},
        })
        items.append({
            "apiVersion": "acme.cert-manager.io/v1", "kind": "Order",
            "metadata": {"name": f"{cname}-1-123", "namespace": ns, "uid": ouid,
                         "ownerReferences": [{"kind": "CertificateRequest", "name": f"{cname}-1", "uid": cruid, "controller": True}]},
            "status": {"state": "valid"},
        })
        items.append({
            "apiVersion": "acme.cert-manager.io/v1", "kind": "Challenge",
            "metadata": {"name": f"{cname}-1-123-1", "namespace": ns, "uid": f"ch-{c}",
                         "ownerReferences": [{"kind": "Order", "name": f"{cname}-1-123", "uid": ouid, "controller": True}]},
            "spec": {"dnsName": f"t{g}.example.com", "type": "DNS-01", "wildcard": True},
            "status": {"state": "valid", "processing": False, "presented": False},
        })
    items.append({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "le"},
                  "spec": {"acme": {"server": "https://acme-v02.api.letsencrypt.org/directory", "solvers": [{"dns01": {"cloudflare": {}}}]}},
                  "status": {"conditions": [_cond("Ready", "True", "ACMEAccountRegistered")]}})
    return {"apiVersion": "v1", "kind": "List", "items": items}


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--routes", type=int, default=10_000)
    ap.add_argument("--gateways", type=int, default=1_000)
    ap.add_argument("--certificates", type=int, default=5_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()

    from edgedoctor.diagnosis.engine import diagnose
    from edgedoctor.evidence import Evidence
    from edgedoctor.snapshot import load_snapshot

    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "cluster.json"
        doc = generate(a.routes, a.gateways, a.certificates)
        big.write_text(json.dumps(doc))
        n = len(doc["items"])
        del doc
        size_mb = big.stat().st_size / 1e6
        host = f"svc{a.routes - 1}.t{(a.routes - 1) % a.gateways}.example.com"

        def baseline() -> None:
            with big.open() as f:
                json.load(f)

        result = {}

        def check() -> None:
            ev = Evidence(host=host, now=NOW, source={"kind": "snapshot"}, cluster=load_snapshot([big]))
            result["d"] = diagnose(ev)

        t_json = best_of(baseline, a.repeat)
        t_check = best_of(check, a.repeat)
        d = result["d"]
        print(f"large snapshot: {n} objects, {size_mb:.1f} MB, host {host} -> {d.verdict}")
        print(f"  json.load          {t_json * 1000:8.1f} ms")
        print(f"  check (load+diag)  {t_check * 1000:8.1f} ms")
        print(f"  ratio              {t_check / t_json:8.2f}x   (goal <= 2.00x)")

        small = ROOT / "tests" / "snapshots" / "base"

        # An installed package has its bytecode compiled; this machine may set
        # PYTHONDONTWRITEBYTECODE, which would make every start compile every module.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

        def run(cmd: list[str]) -> float:
            t = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env)
            return time.perf_counter() - t

        run([sys.executable, "-m", "edgedoctor", "check", "app.example.com", "--snapshot", str(small),
             "--offline", "--now", NOW, "-o", "json"])  # warm-up: writes __pycache__

        reps = max(5, a.repeat * 3)
        bare = statistics.median(run([sys.executable, "-c", "pass"]) for _ in range(reps))
        ed = statistics.median(
            run([sys.executable, "-m", "edgedoctor", "check", "app.example.com", "--snapshot", str(small),
                 "--offline", "--now", NOW, "-o", "json"]) for _ in range(reps)
        )
        print(f"start-up (median of {reps} runs):")
        print(f"  python -c pass                 {bare * 1000:8.1f} ms")
        print(f"  edgedoctor check --snapshot    {ed * 1000:8.1f} ms")
        print(f"  difference                     {(ed - bare) * 1000:8.1f} ms   (goal <= 350 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
