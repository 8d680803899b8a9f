"""Speed of `edgedoctor lint` on a large rendered tree, against PyYAML's C loader parsing
the same files, measured in the same run.

    python benchmarks/lint_speed.py [--routes 10000] [--gateways 1000] [--certificates 5000] [--files 100] [--repeat 3]

The tree: gateway g<i> (http + https listeners for *.t<i>.example.com) in namespace t<i>, its
wildcard Certificate plus further Certificates, HTTPRoutes with a hostname each and their
Services, the ClusterIssuers and the controllers as Flux HelmReleases; spread over --files
multi-document YAML files as `kustomize build` per directory would print them.

Baseline: `yaml.load_all(text, Loader=yaml.CSafeLoader)` of every file (reading included).
Lint: reading the files with file and line, predicting the statuses and diagnosing every
host (the in-process work of `edgedoctor lint PATH -o json`, output rendered). Goal: at
most 2x the baseline.

Both are single-threaded; the ratio is taken on the process's CPU time (time.process_time),
which other processes on a shared machine do not inflate, with the wall times printed
beside it. Runs are interleaved (baseline, lint, baseline, lint, ...) and the medians kept.
The first lint run also imports the modules lint needs; its time is printed apart.

Measured (2 shared cores, 4 Dec 2026, load average about 3, each line one run of
--repeat 5; "before" is 56b2c62, the state before the changes listed below):
    before: 2.08x, 2.09x, 2.13x     after: 1.76x, 1.78x, 1.78x (first run 1.85x)
    baseline about 1.9-2.0 s CPU; lint about 3.4 s (before about 4.2 s).
Under heavy load from other processes (load average 12-18) the same code measured
1.81x-1.92x: lint holds the whole tree in memory while the baseline streams file by
file, so cache contention costs lint more. What brought it down: the collector paused,
the YAML composer's per-node hooks as C calls, facts of one object (listeners, route
hostnames and parentRefs, how a route meets a listener, which Certificates write a
Secret) computed once by lint's shared index instead of once per host.
Where the time goes now (py-spy): reading about 28% (mostly PyYAML's C composer
building its nodes, which the baseline pays too), the per-host engine layers about
61% (0.2 ms a host, spread over the gateway, route, certificate, redirect and DNS
layers), statuses predicted and indexes built about 8%.

lint runs with Python's cyclic garbage collector paused (`collector_paused`, see
edgedoctor/app/lint.py); the baseline runs as PyYAML runs by default. For reference, the
baseline with the collector paused too is printed beside it.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def generate(routes: int, gateways: int, certificates: int) -> list[dict]:
    objs: list[dict] = [
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "eg"},
         "spec": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"}},
        {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "letsencrypt-prod"},
         "spec": {"acme": {"server": "https://acme-v02.api.letsencrypt.org/directory", "email": "ops@example.com",
                           "privateKeySecretRef": {"name": "le-account"},
                           "solvers": [{"selector": {"dnsZones": ["example.com"]},
                                        "dns01": {"cloudflare": {"apiTokenSecretRef": {"name": "cf", "key": "token"}}}}]}}},
    ]
    for role, chart, version, values in (
        ("cert-manager", "cert-manager", "v1.18.2", {"crds": {"enabled": True}}),
        ("envoy-gateway-system", "gateway-helm", "v1.5.4", {}),
        ("external-dns", "external-dns", "1.19.0", {"sources": ["service", "gateway-httproute"], "domainFilters": ["example.com"]}),
    ):
        objs.append({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                     "metadata": {"name": chart, "namespace": role},
                     "spec": {"interval": "10m", "chart": {"spec": {"chart": chart, "version": version,
                                                                     "sourceRef": {"kind": "HelmRepository", "name": chart}}},
                              "values": values}})
    for g in range(gateways):
        ns = f"t{g}"
        objs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        objs.append({
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": f"g{g}", "namespace": ns},
            "spec": {"gatewayClassName": "eg", "listeners": [
                {"name": "http", "protocol": "HTTP", "port": 80, "hostname": f"*.{ns}.example.com",
                 "allowedRoutes": {"namespaces": {"from": "Same"}}},
                {"name": "https", "protocol": "HTTPS", "port": 443, "hostname": f"*.{ns}.example.com",
                 "allowedRoutes": {"namespaces": {"from": "Same"}},
                 "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": f"wildcard-{ns}-tls"}]}},
            ]},
        })
        objs.append({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                     "metadata": {"name": "https-redirect", "namespace": ns},
                     "spec": {"parentRefs": [{"name": f"g{g}", "sectionName": "http"}],
                              "rules": [{"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}]}})
    for c in range(certificates):
        g = c % gateways
        ns = f"t{g}"
        first = c < gateways
        objs.append({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                     "metadata": {"name": f"wildcard-{ns}" if first else f"c{c}", "namespace": ns},
                     "spec": {"secretName": f"wildcard-{ns}-tls" if first else f"c{c}-tls",
                              "dnsNames": [f"*.{ns}.example.com"] if first else [f"c{c}.{ns}.example.com"],
                              "issuerRef": {"kind": "ClusterIssuer", "name": "letsencrypt-prod"}}})
    for r in range(routes - gateways):
        g = r % gateways
        ns = f"t{g}"
        objs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"app{r}", "namespace": ns},
                     "spec": {"selector": {"app": f"app{r}"}, "ports": [{"port": 8080}]}})
        objs.append({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                     "metadata": {"name": f"app{r}", "namespace": ns},
                     "spec": {"parentRefs": [{"name": f"g{g}", "sectionName": "https"}],
                              "hostnames": [f"app{r}.{ns}.example.com"],
                              "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                                         "backendRefs": [{"name": f"app{r}", "port": 8080}]}]}})
    return objs


def write_tree(objs: list[dict], directory: Path, files: int) -> list[Path]:
    import yaml

    chunks: list[list[dict]] = [[] for _ in range(files)]
    for i, o in enumerate(objs):
        chunks[i % files].append(o)
    paths = []
    for i, chunk in enumerate(chunks):
        p = directory / f"rendered-{i:04d}.yaml"
        p.write_text(yaml.dump_all(chunk, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False))
        paths.append(p)
    return paths


def baseline(paths: list[Path]) -> int:
    import yaml

    n = 0
    for p in paths:
        n += sum(1 for _ in yaml.load_all(p.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader))
    return n


def lint(directory: Path) -> str:
    """What `edgedoctor lint DIR -o json` runs, up to the text it prints."""
    from edgedoctor.app.lint import lint_command

    text, _ = lint_command([str(directory)], output="json")
    return text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--routes", type=int, default=10000)
    ap.add_argument("--gateways", type=int, default=1000)
    ap.add_argument("--certificates", type=int, default=5000)
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        paths = write_tree(generate(a.routes, a.gateways, a.certificates), d, a.files)
        size = sum(p.stat().st_size for p in paths)
        from edgedoctor.app.lint import collector_paused

        base_t, lint_t, base_w, lint_w, paused_t = [], [], [], [], []
        for _ in range(a.repeat):
            w, t = time.perf_counter(), time.process_time()
            docs = baseline(paths)
            base_t.append(time.process_time() - t)
            base_w.append(time.perf_counter() - w)
            with collector_paused():
                t = time.process_time()
                baseline(paths)
                paused_t.append(time.process_time() - t)
            w, t = time.perf_counter(), time.process_time()
            report = lint(d)
            lint_t.append(time.process_time() - t)
            lint_w.append(time.perf_counter() - w)
        first = lint_t[0]
        if a.repeat > 1:
            lint_t, lint_w = lint_t[1:], lint_w[1:]
        b, lt = statistics.median(base_t), statistics.median(lint_t)
        bw, lw = statistics.median(base_w), statistics.median(lint_w)
        hosts = json.loads(report)["hosts"]
        verdicts = collections.Counter(h["verdict"] for h in hosts)
        print(f"tree: {len(paths)} files, {size / 1e6:.1f} MB, {docs} documents; lint reported {len(hosts)} hosts {dict(verdicts)}")
        print(f"PyYAML CSafeLoader parse: {b:.2f} s CPU ({bw:.2f} s wall), median of {a.repeat}")
        print(f"  (with the collector paused too: {statistics.median(paused_t):.2f} s CPU, for reference)")
        print(f"edgedoctor lint:          {lt:.2f} s CPU ({lw:.2f} s wall), median of the {len(lint_t)} runs after the first")
        print(f"  (first run, imports included: {first:.2f} s CPU, {first / b:.2f}x)")
        print(f"wall-time ratio (inflated by other load on a shared machine): {lw / bw:.2f}x")
        ratio = lt / b
        print(f"ratio lint / parse (CPU time): {ratio:.2f}x (goal <= 2x): {'OK' if ratio <= 2 else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
