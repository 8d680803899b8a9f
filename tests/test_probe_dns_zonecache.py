"""A sweep's ZoneCache: the zone's answers (SOA, CAA up the tree) are asked once per zone
and per sweep, every host still records them, and a probe without a cache (a check) asks
everything itself as before. Counted at a loopback forwarder in front of a real BIND."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import dns.query
import dns.rdatatype
import pytest

from edgedoctor.probes.dns import ZoneCache, probe_dns
from tests.servers.faults import DNSResponder
from tests.servers.fixtures import named_factory  # noqa: F401 - pytest fixture
from tests.servers.named import zone_text

pytestmark = pytest.mark.servers

HOSTS = [f"app{i}.example.com" for i in range(6)] + [f"web{i}.other.org" for i in range(4)]
EXAMPLE = zone_text("example.com", [(h.split(".")[0], 300, "A", "127.0.0.20") for h in HOSTS[:6]]
                    + [("@", 300, "CAA", '0 issue "letsencrypt.org"')], serial=7)
OTHER = zone_text("other.org", [(h.split(".")[0], 300, "A", "127.0.0.40") for h in HOSTS[6:]], serial=3)


class Counting:
    """Forwards each question to BIND and counts it by (name, type)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream, self.asked, self.lock = upstream, Counter(), threading.Lock()

    def __call__(self, query):
        q = query.question[0]
        with self.lock:
            self.asked[(q.name.to_text().lower(), dns.rdatatype.to_text(q.rdtype))] += 1
        return dns.query.udp(query, self.upstream[0], port=self.upstream[1], timeout=3)


@pytest.fixture(scope="module")
def bind(named_factory):  # noqa: F811
    return named_factory({"example.com": EXAMPLE, "other.org": OTHER})


def sweep(server, hosts, cache):
    """The hosts probed at once, as a sweep's workers do."""
    def one(host):
        return probe_dns(host, nameservers=[], authoritative=[server], timeout=3, cache=cache)

    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        return list(pool.map(one, hosts))


def stable(result):
    """A host's DNS evidence without what differs between two runs (timing, random names)."""
    return sorted((q["purpose"], q["qname"], q["qtype"], q["server"], q["rcode"], q["aa"], q.get("error"),
                   str(sorted(map(str, q["answer"]))), str(sorted(map(str, q["authority"]))))
                  for q in result["queries"] if q["purpose"] != "wildcard-probe")


def test_one_soa_and_one_caa_question_per_zone_for_all_hosts_of_a_sweep(bind):
    counting = Counting(bind.server)
    with DNSResponder(counting) as fwd:
        cache = ZoneCache()
        results = sweep(fwd.server, HOSTS, cache)
        asked = dict(counting.asked)
        # The zones' own answers: once per zone, whatever the number of hosts.
        assert asked[("example.com.", "SOA")] == 1
        assert asked[("other.org.", "SOA")] == 1
        assert asked[("example.com.", "CAA")] == 1
        assert asked[("other.org.", "CAA")] == 1
        # What belongs to each host is still asked for each host.
        for host in HOSTS:
            assert asked[(host + ".", "A")] == 1
            assert asked[(host + ".", "SOA")] == 1
        # The wildcard probe's sibling name is the parent's: once per parent and sweep; the
        # child name is each host's own.
        siblings = {k: n for k, n in asked.items() if k[0].startswith(cache.absent_label + ".")}
        assert siblings == {(f"{cache.absent_label}.example.com.", "A"): 1,
                            (f"{cache.absent_label}.other.org.", "A"): 1}
        for host, r in zip(HOSTS, results, strict=True):
            (sib,) = [q for q in r["queries"] if q.get("probe") == "sibling"]
            assert sib["qname"] == f"{cache.absent_label}.{host.split('.', 1)[1]}." and sib["rcode"] == "NXDOMAIN"
            (child,) = [q for q in r["queries"] if q.get("probe") == "child"]
            assert child["qname"].endswith(f".{host}.") and child["qname"].startswith("edgedoctor-")
            assert asked[(child["qname"], "A")] == 1
        assert cache.hits >= 3 * (len(HOSTS) - 2)
        # Every host still records the zone's answers: the same evidence as a host alone.
        for host, r in zip(HOSTS, results, strict=True):
            zone = host.split(".", 1)[1]
            assert r["zone"] == zone and r["zone_error"] is None
            assert r["soa"]["serial"] == (7 if zone == "example.com" else 3)
            assert any(q["qname"] == zone + "." and q["qtype"] == "SOA" and q["answer"] for q in r["queries"])

        # A second sweep has a cache of its own: it asks the zone again, once.
        sweep(fwd.server, HOSTS, ZoneCache())
        assert counting.asked[("example.com.", "SOA")] == 2
        assert counting.asked[("other.org.", "SOA")] == 2


def test_a_host_gets_the_same_evidence_with_or_without_the_cache(bind):
    cache = ZoneCache()
    shared = sweep(bind.server, HOSTS, cache)
    alone = [probe_dns(h, nameservers=[], authoritative=[bind.server], timeout=3) for h in HOSTS]
    for with_cache, without in zip(shared, alone, strict=True):
        assert stable(with_cache) == stable(without)
        assert with_cache["soa"] == without["soa"]
        assert with_cache["zone"] == without["zone"]


def test_errors_are_not_shared_the_next_host_asks_again():
    asked = Counter()

    def silent(query):
        asked[query.question[0].name.to_text()] += 1
        return None  # no answer: every question times out

    with DNSResponder(silent) as dead:
        cache = ZoneCache()
        for host in ("a.example.com", "b.example.com"):
            r = probe_dns(host, nameservers=[], authoritative=[dead.server], timeout=0.3, cache=cache)
            assert r["zone"] is None and "timeout" in r["zone_error"]
        assert cache.hits == 0
        assert asked["example.com."] == 2  # the SOA walk's second step, for each host


def test_a_host_gets_the_same_evidence_in_the_threads_a_sweep_shares(bind):
    from edgedoctor.probes.runner import shared_executor

    executor = shared_executor(4)
    try:
        def one(host):
            return probe_dns(host, nameservers=[bind.server], authoritative=[bind.server], timeout=3,
                             cache=ZoneCache(), executor=executor)

        with ThreadPoolExecutor(max_workers=4) as pool:
            shared = list(pool.map(one, HOSTS))
    finally:
        executor.shutdown(wait=True)
    alone = [probe_dns(h, nameservers=[bind.server], authoritative=[bind.server], timeout=3) for h in HOSTS]
    for with_pool, without in zip(shared, alone, strict=True):
        assert stable(with_pool) == stable(without)
        assert with_pool["soa"] == without["soa"] and with_pool["zone"] == without["zone"]
        assert any(q["role"] == "recursive" and q["answer"] for q in with_pool["queries"])
