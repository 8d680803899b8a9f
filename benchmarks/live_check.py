"""Speed of a live `edgedoctor check` on a real kube-apiserver with many objects, against a
plain script that LISTs the same kinds, measured in the same run.

    python benchmarks/live_check.py [--routes 10000] [--gateways 1000] [--certificates 5000] [--repeat 3]

Needs the test control plane (`bash .ci/kube/build.sh`, etcd-server): it starts its own
kube-apiserver on loopback, loads the cluster, then times, each --repeat times (best kept):

  * check:    `python -m edgedoctor check HOST --kubeconfig K --offline -o json` (the whole
              command: start-up, the live read, the diagnosis, the output);
  * baseline: `python` running a plain script that LISTs, one after the other and 500 per
              page as kubectl does, every kind the check lists across the cluster (the Gateway
              API, Envoy Gateway and cert-manager kinds, Namespaces) with the same client
              library, and parses the JSON.

The cluster: N Gateways (`*.t<i>.example.com`, with statuses), the HTTPRoutes spread over
them (each with its backend Service and EndpointSlice, as real apps have), the Certificates
(one wildcard per Gateway, the rest extra names), the Envoy data plane and the controllers
as Deployments and Services with their charts' labels. What the check reads beyond the
baseline's lists is only what the host's chain names: the data plane and controllers by
label, one backend Service and its EndpointSlices, one Secret. Goal: ratio at most 1.0.

Measured on the 2-core machine while other work ran on it (load average 6-16, so single
runs swing by a factor of two: compare within a round, and prefer the median), 39,508 objects
loaded, 17,509 of them in the listed kinds. Before (56b2c62, every data plane cluster-wide
by selector per Gateway, CRD lists through the client's CustomObjectsApi, the cyclic GC
walking the growing heap): this script's ratio 1.20. After (data plane in the Envoy Gateway
controller's and the Gateway's namespace, raw JSON, managedFields dropped in place, the
cyclic GC paused during the read): this script, best of 5, without the GC pause yet:
baseline 14.43 s, check 13.75 s, ratio 0.95. Rounds of the same two commands, alternated
(baseline, check before, check after), against one loaded server, ratio to the baseline:
  load 6-16, before: 1.26 1.02 1.29 1.43 1.74 0.78 1.09   after: 1.15 0.83 0.67 0.69 2.2 0.76 0.76
  load 3-6,  before: 1.02 1.57 1.05 0.81 1.06 1.10 1.03 1.64   after: 0.96 1.36 0.86 0.84 1.11 0.98 1.42 1.45
  median of all 15 rounds: before 1.09, after 0.96; of the quieter 8 alone: 1.05 and 1.05.
CPU seconds per run (client + kube-apiserver/etcd, read from /proc; steadier than wall time):
  baseline 1.1 + 7.9-10.0;  before 2.0-2.3 + 8.4-13.3;  after 1.4-1.8 + 8.4-11.5
The goal is met only on a busy machine, where the check's concurrent reads win it a larger
share of the CPU; on a quieter one the ratio stays about 1.05: the server's time for the
10,000 HTTPRoutes (20 pages, one after the other) is the critical path of both, and the
check's requests make the server spend more CPU than the sequential baseline (its selector
lists of the controllers and data plane scan every Deployment or Service of their namespace;
the rest of the server's extra under concurrent LISTs was not broken down). The client's own CPU is
down from about 2.1 s to 1.6 s (the baseline: 1.1 s).
Not used, on purpose: `resourceVersion=0` (served from the watch cache: about 7x cheaper for
this server, whose etcd is too old for consistent reads from the cache; but an answer may
be stale, and a recent cluster with a recent etcd serves consistent LISTs from the cache too).
The host's Secret is not created here, so the verdict is cert-secret-missing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BASELINE = r'''
import json, sys
from kubernetes import client, config
api = config.new_client_from_config(sys.argv[1])
total = 0
for path in sys.argv[2:]:
    cont = None
    while True:
        q = [("limit", 500)] + ([("continue", cont)] if cont else [])
        r = api.call_api(path, "GET", query_params=q, header_params={"Accept": "application/json"},
                         auth_settings=["BearerToken"], _preload_content=False)
        doc = json.loads(r.data)
        total += len(doc.get("items") or [])
        cont = (doc.get("metadata") or {}).get("continue")
        if not cont:
            break
print(total)
'''


def _cond(type_: str, status: str, reason: str) -> dict[str, Any]:
    return {"type": type_, "status": status, "reason": reason, "message": "",
            "lastTransitionTime": "2026-11-01T00:00:00Z"}


def cluster(routes: int, gateways: int, certificates: int) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(object, status or None) pairs, namespaces first."""
    out: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    namespaces = {f"tenant-{g}" for g in range(gateways)} | {f"app-{r % 500}" for r in range(routes)}
    namespaces |= {"envoy-gateway-system", "cert-manager", "external-dns"}
    for ns in sorted(namespaces):
        out.append(({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, None))
    out.append(({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "eg"},
                 "spec": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"}},
                {"conditions": [_cond("Accepted", "True", "Accepted")]}))
    for name, ns, image, labels in (
        ("envoy-gateway", "envoy-gateway-system", "docker.io/envoyproxy/gateway:v1.9.0",
         {"app.kubernetes.io/name": "gateway-helm", "control-plane": "envoy-gateway"}),
        ("cert-manager", "cert-manager", "quay.io/jetstack/cert-manager-controller:v1.19.1",
         {"app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/component": "controller"}),
        ("external-dns", "external-dns", "registry.k8s.io/external-dns/external-dns:v0.18.0",
         {"app.kubernetes.io/name": "external-dns"}),
    ):
        out.append((_deployment(name, ns, image, labels), _available()))
    for g in range(gateways):
        ns = f"tenant-{g}"
        out.append(({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                     "metadata": {"name": f"g{g}", "namespace": ns},
                     "spec": {"gatewayClassName": "eg", "listeners": [
                         {"name": "http", "protocol": "HTTP", "port": 80, "hostname": f"*.t{g}.example.com"},
                         {"name": "https", "protocol": "HTTPS", "port": 443, "hostname": f"*.t{g}.example.com",
                          "allowedRoutes": {"namespaces": {"from": "All"}},
                          "tls": {"certificateRefs": [{"kind": "Secret", "name": f"wild-t{g}-tls"}]}}]}},
                    {"addresses": [{"type": "IPAddress", "value": f"198.51.{g // 250}.{g % 250 + 1}"}],
                     "conditions": [_cond("Accepted", "True", "Accepted"), _cond("Programmed", "True", "Programmed")],
                     "listeners": [{"name": n, "attachedRoutes": 10, "supportedKinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
                                    "conditions": [_cond("Accepted", "True", "Accepted"), _cond("Programmed", "True", "Programmed"),
                                                   _cond("ResolvedRefs", "True", "ResolvedRefs")]} for n in ("http", "https")]}))
        owner = {"gateway.envoyproxy.io/owning-gateway-name": f"g{g}", "gateway.envoyproxy.io/owning-gateway-namespace": ns,
                 "app.kubernetes.io/managed-by": "envoy-gateway", "app.kubernetes.io/name": "envoy",
                 "app.kubernetes.io/component": "proxy"}
        out.append((_deployment(f"envoy-{g}", "envoy-gateway-system", "docker.io/envoyproxy/envoy:distroless-v1.38.0", owner),
                    _available()))
        out.append(({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"envoy-{g}", "namespace": "envoy-gateway-system",
                                                                       "labels": owner},
                     "spec": {"type": "LoadBalancer", "ports": [{"name": "https", "port": 443}], "selector": owner}},
                    {"loadBalancer": {"ingress": [{"ip": f"198.51.{g // 250}.{g % 250 + 1}"}]}}))
    for r in range(routes):
        g = r % gateways
        ns = f"app-{r % 500}"
        out.append(({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                     "metadata": {"name": f"r{r}", "namespace": ns},
                     "spec": {"parentRefs": [{"name": f"g{g}", "namespace": f"tenant-{g}", "sectionName": "https"}],
                              "hostnames": [f"svc{r}.t{g}.example.com"],
                              "rules": [{"backendRefs": [{"name": f"svc{r}", "port": 80}]}]}},
                    {"parents": [{"parentRef": {"name": f"g{g}", "namespace": f"tenant-{g}", "sectionName": "https"},
                                  "controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
                                  "conditions": [_cond("Accepted", "True", "Accepted"), _cond("ResolvedRefs", "True", "ResolvedRefs")]}]}))
        out.append(({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"svc{r}", "namespace": ns},
                     "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": f"svc{r}"}}}, None))
        out.append(({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                     "metadata": {"name": f"svc{r}-abcde", "namespace": ns, "labels": {"kubernetes.io/service-name": f"svc{r}"}},
                     "addressType": "IPv4", "ports": [{"port": 8080}],
                     "endpoints": [{"addresses": [f"10.{r // 65000}.{r // 250 % 250}.{r % 250 + 1}"],
                                    "conditions": {"ready": True}}]}, None))
    for c in range(certificates):
        g = c % gateways
        cname = f"wild-t{g}" if c < gateways else f"extra-{c}"
        names = [f"*.t{g}.example.com"] if c < gateways else [f"extra{c}.t{g}.example.com"]
        out.append(({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                     "metadata": {"name": cname, "namespace": f"tenant-{g}"},
                     "spec": {"secretName": f"{cname}-tls", "dnsNames": names,
                              "issuerRef": {"name": "le", "kind": "ClusterIssuer", "group": "cert-manager.io"}}},
                    {"conditions": [_cond("Ready", "True", "Ready")], "revision": 1,
                     "notAfter": "2027-01-30T00:00:00Z", "renewalTime": "2026-12-31T00:00:00Z"}))
    out.append(({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "le"},
                 "spec": {"acme": {"server": "https://acme-v02.api.letsencrypt.org/directory",
                                   "privateKeySecretRef": {"name": "le-account"},
                                   "solvers": [{"dns01": {"cloudflare": {"apiTokenSecretRef": {"name": "cf", "key": "api-token"}}}}]}}},
                {"conditions": [_cond("Ready", "True", "ACMEAccountRegistered")]}))
    return out


def _deployment(name: str, ns: str, image: str, labels: dict[str, str]) -> dict[str, Any]:
    args = (["--source=gateway-httproute", "--provider=cloudflare", "--registry=txt", "--txt-owner-id=bench"]
            if "external-dns" in image else [])
    container = {"name": "c", "image": image, **({"args": args} if args else {})}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}}}


def _available() -> dict[str, Any]:
    return {"replicas": 1, "availableReplicas": 1, "readyReplicas": 1,
            "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}]}


def load(api: Any, pairs: list[tuple[dict[str, Any], dict[str, Any] | None]], workers: int = 12) -> None:
    def one(pair: tuple[dict[str, Any], dict[str, Any] | None]) -> None:
        obj, status = pair
        made = api.create(obj)
        if status is not None:
            made["status"] = status
            api.replace(made, "status")

    namespaces = [p for p in pairs if p[0]["kind"] == "Namespace"]
    rest = [p for p in pairs if p[0]["kind"] != "Namespace"]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, namespaces))
        list(pool.map(one, rest))


def best_of(argv: list[str], repeat: int, env: dict[str, str]) -> tuple[float, str]:
    best, out = float("inf"), ""
    for _ in range(repeat):
        t = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
        took = time.perf_counter() - t
        if proc.returncode not in (0, 1, 2):
            raise SystemExit(f"{argv[:4]} failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
        if took < best:
            best, out = took, proc.stdout
    return best, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--routes", type=int, default=10_000)
    ap.add_argument("--gateways", type=int, default=1_000)
    ap.add_argument("--certificates", type=int, default=5_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=300.0, help="the check's --timeout (default 300)")
    a = ap.parse_args()

    from edgedoctor.kinds import KINDS
    from edgedoctor.kube.live import NARROW
    from edgedoctor.kube.reads import collection_path
    from tests.servers.kubeapi import KubeCluster, _workdir, require_build
    from tests.servers.pki import TestCA

    try:
        build = require_build()
    except BaseException as e:  # pytest's skip outside pytest: say why in one line
        print(f"live_check: {e}", file=sys.stderr)
        return 3
    workdir = _workdir()
    kube = KubeCluster(workdir, build, TestCA(now=dt.datetime.now(dt.timezone.utc)))
    kube.start()
    try:
        pairs = cluster(a.routes, a.gateways, a.certificates)
        t = time.perf_counter()
        load(kube.api, pairs)
        print(f"loaded {len(pairs)} objects ({a.routes} HTTPRoutes with their Services and EndpointSlices, "
              f"{a.gateways} Gateways with their data planes, {a.certificates} Certificates) "
              f"in {time.perf_counter() - t:.0f} s")
        kubeconfig = str(kube.kubeconfig("admin"))
        host = f"svc{a.routes - 1}.t{(a.routes - 1) % a.gateways}.example.com"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        # The package's bytecode is made once, as an install would: with PYTHONDONTWRITEBYTECODE
        # set, each timed check would otherwise compile its own source again (the baseline's
        # client library is installed, compiled).
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "edgedoctor")], check=True,
                       stdout=subprocess.DEVNULL)
        wide = [collection_path(k, k.versions[0]) for k in KINDS if k.kind not in NARROW]
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "list_kinds.py"
            script.write_text(BASELINE)
            # Alternated, so a machine busy with something else weighs on both alike.
            base, check, listed, out = float("inf"), float("inf"), "", ""
            for _ in range(a.repeat):
                took, text = best_of([sys.executable, str(script), kubeconfig, *wide], 1, env)
                if took < base:
                    base, listed = took, text
                # --timeout: the default 20 s deadline is for a person waiting; the benchmark
                # measures the work, not whether it fits that deadline on a busy machine.
                took, text = best_of([sys.executable, "-m", "edgedoctor", "check", host, "--kubeconfig", kubeconfig,
                                      "--offline", "--timeout", str(a.timeout), "-o", "json"], 1, env)
                if took < check:
                    check, out = took, text
        doc = json.loads(out)
        print(f"check {host}: verdict {doc['verdict']}, root cause {(doc.get('root_cause') or {}).get('code')}")
        print(f"baseline (LIST {len(wide)} kinds, {listed.strip()} objects, one after the other): {base:.2f} s")
        print(f"edgedoctor check (live, --offline):                            {check:.2f} s")
        print(f"ratio check/baseline: {check / base:.2f} (goal <= 1.0)")
    finally:
        kube.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
