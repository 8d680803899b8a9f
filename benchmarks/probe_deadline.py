"""How close is a check's probe phase to its slowest single probe?

Starts, on loopback, a DNS server and a TLS server (plus a plain-HTTP one for http://) that
each wait 300 ms before answering, runs `run_probes` against them, and prints the slowest
single probe's time, the whole run's wall time and their ratio. The goal is a ratio of at most
1.5: probes run concurrently and the TLS probes start as soon as DNS gives an address.

    python benchmarks/probe_deadline.py [--delay 0.3] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.rrset  # noqa: E402

from edgedoctor.probes.runner import ProbePlan, run_probes  # noqa: E402
from tests.servers.faults import DelayedTLS, DNSResponder  # noqa: E402
from tests.servers.pki import TestCA  # noqa: E402

HOST = "app.example.com"
EDGE = "127.0.0.1"
SOA = "ns1.example.com. hostmaster.example.com. 1 3600 600 86400 60"


def answer(query: dns.message.Message) -> dns.message.Message:
    """A tiny authoritative server for example.com: app -> the edge, everything else empty."""
    r = dns.message.make_response(query)
    r.flags |= dns.flags.AA
    q = query.question[0]
    name = q.name.to_text().lower()
    rtype = dns.rdatatype.to_text(q.rdtype)
    if not name.endswith("example.com."):
        r.set_rcode(dns.rcode.REFUSED)
    elif name == "example.com." and rtype == "SOA":
        r.answer.append(dns.rrset.from_text(name, 300, "IN", "SOA", SOA))
    elif name == f"{HOST}." and rtype == "A":
        r.answer.append(dns.rrset.from_text(name, 300, "IN", "A", EDGE))
    elif name in (f"{HOST}.", "example.com."):
        r.authority.append(dns.rrset.from_text("example.com.", 60, "IN", "SOA", SOA))
    else:
        r.set_rcode(dns.rcode.NXDOMAIN)
        r.authority.append(dns.rrset.from_text("example.com.", 60, "IN", "SOA", SOA))
    return r


def one_run(dns_server: DNSResponder, https: DelayedTLS, http: DelayedTLS) -> dict[str, float]:
    plan = ProbePlan(
        host=HOST,
        nameservers=[dns_server.server],
        authoritative=[dns_server.server],
        gateway_addresses=[EDGE],
        extra_txt=[f"a-{HOST}"],
        acme_names=[HOST],
        timeout=10,
        probe_timeout=3,
        https_port=https.port,
        http_port=http.port,
    )
    started = time.monotonic()
    dns_result, tls, http_results = run_probes(plan)
    wall = (time.monotonic() - started) * 1000
    probes = {"dns": dns_result["elapsed_ms"]}
    for t in tls:
        probes[f"tls {t['address']}:{t['port']}"] = t["elapsed_ms"]
    for h in http_results:
        probes[h["url"]] = h["elapsed_ms"]
    assert all(not q["error"] for q in dns_result["queries"]), "a DNS question failed"
    assert all(t["ok"] for t in tls), [t["error"] for t in tls]
    assert all(h["status"] for h in http_results), [h["error"] for h in http_results]
    slowest = max(probes.values())
    return {"wall": wall, "slowest": slowest, "probes": probes,
            "questions": len(dns_result["queries"])}  # type: ignore[dict-item]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.3, help="seconds each server waits (default 0.3)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    ca = TestCA()
    with tempfile.TemporaryDirectory() as tmp:
        crt, key = ca.leaf([HOST]).write(Path(tmp), "edge")
        with DNSResponder(answer, delay=args.delay) as dns_server, \
                DelayedTLS(crt, key, delay=args.delay) as https, \
                DelayedTLS(None, None, delay=args.delay, status=301) as http:
            one_run(dns_server, https, http)  # warm-up: imports, first SSL contexts
            runs = [one_run(dns_server, https, http) for _ in range(args.runs)]

    print(f"server delay {args.delay * 1000:.0f} ms, {args.runs} runs "
          f"({runs[0]['questions']} DNS questions, {len(runs[0]['probes']) - 1} TLS/HTTP probes per run)")
    print("slowest probe per run (ms):", ", ".join(f"{r['slowest']:.0f}" for r in runs))
    print("wall time per run (ms):    ", ", ".join(f"{r['wall']:.0f}" for r in runs))
    ratios = [r["wall"] / r["slowest"] for r in runs]
    print("ratio wall/slowest:        ", ", ".join(f"{x:.2f}" for x in ratios))
    med = statistics.median(ratios)
    print(f"median: slowest {statistics.median(r['slowest'] for r in runs):.0f} ms, "
          f"wall {statistics.median(r['wall'] for r in runs):.0f} ms, ratio {med:.2f} (goal <= 1.5)")
    print("probes of the last run (ms):")
    for name, ms in runs[-1]["probes"].items():
        print(f"  {name:45s} {ms:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
