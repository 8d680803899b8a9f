"""One DNS question to one server, recorded: which server said what, with the AA/TC flags
and the rcode, or why there was no answer.

Queries are sent without EDNS, as a plain 512-byte UDP client: a truncated answer (TC) is
asked again over TCP and recorded with `via_tcp: true`. Nothing here raises for a DNS or
network failure: every question becomes a query entry, with an `error` when it got no
answer, and a dead server costs exactly one per-query timeout.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import dns.exception

from edgedoctor.probes import dnswire
from edgedoctor.probes.dnscache import CACHED, ZoneCache
from edgedoctor.probes.dnsnames import fqdn, server_label
from edgedoctor.probes.guard import DestinationRefused, check_destination

Server = tuple[str, int]


def rr_list(section: list[dnswire.RRSet]) -> list[dict[str, Any]]:
    return [{"name": rrset.name.lower(), "type": dnswire.type_text(rrset.rdtype), "ttl": rrset.ttl, "value": value}
            for rrset in section for value in rrset.values]


class Recorder:
    """Sends single questions and keeps every entry, in the order they were asked."""

    def __init__(self, timeout: float, deadline: float | None, cache: ZoneCache | None = None) -> None:
        self.timeout = timeout
        self.deadline = deadline
        self.cache = cache
        self._lock = threading.Lock()
        self._seq = 0
        self._entries: list[tuple[int, dict[str, Any]]] = []

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for _, e in sorted(self._entries, key=lambda x: x[0])]

    def _budget(self) -> float | None:
        if self.deadline is None:
            return self.timeout
        left = self.deadline - time.monotonic()
        if left <= 0.01:
            return None
        return min(self.timeout, left)

    def ask(
        self,
        qname: str,
        qtype: str,
        server: Server,
        *,
        role: str,
        purpose: str,
        rd: bool | None = None,
        extra: dict[str, Any] | None = None,
        shared: bool | None = None,
    ) -> tuple[dict[str, Any], dnswire.Answer | None]:
        """(the query entry, the answer read, None when there was none).

        shared: the answer is the zone's, not the host's, so a sweep's hosts share it;
        by default the purposes of `CACHED` asked without extra fields."""
        with self._lock:
            seq = self._seq
            self._seq += 1
        if shared is None:
            shared = purpose in CACHED and extra is None
        if self.cache is not None and shared:
            key = (fqdn(qname), qtype, server, role, rd)

            def asked() -> tuple[dict[str, Any], dnswire.Answer | None]:
                got, response = self._ask(qname, qtype, server, role=role, purpose=purpose, rd=rd, extra=extra)
                # Only the NS answer's glue is read from the message; the rest is not kept
                # (10,000 hosts' SOA-walk answers would weigh on the sweep's memory).
                return got, response if purpose == "ns" else None

            entry, response, _hit = self.cache.get_or_ask(key, asked)
        else:
            entry, response = self._ask(qname, qtype, server, role=role, purpose=purpose, rd=rd, extra=extra)
        with self._lock:
            self._entries.append((seq, entry))
        return entry, response

    def _ask(
        self, qname: str, qtype: str, server: Server, *, role: str, purpose: str, rd: bool | None,
        extra: dict[str, Any] | None,
    ) -> tuple[dict[str, Any], dnswire.Answer | None]:
        address, port = server
        label = server_label(address, port)
        entry: dict[str, Any] = {
            "purpose": purpose, "server": label, "role": role, "qname": fqdn(qname), "qtype": qtype,
            "rcode": None, "aa": False, "tc": False, "via_tcp": False, "answer": [], "authority": [],
            "error": None, "elapsed_ms": 0.0,
        }
        if extra:
            entry.update(extra)
        started = time.monotonic()
        response: dnswire.Answer | None = None
        budget = self._budget()
        if budget is None:
            entry["error"] = f"deadline passed before asking {label}"
        else:
            response = self._exchange(entry, address, port, budget, rd if rd is not None else role == "recursive")
        entry["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
        if response is not None:
            entry["rcode"] = dnswire.rcode_text(response.rcode)
            entry["aa"] = bool(response.flags & dnswire.AA)
            entry["answer"] = rr_list(response.answer)
            entry["authority"] = rr_list(response.authority)
        return entry, response

    def _exchange(
        self, entry: dict[str, Any], address: str, port: int, budget: float, rd: bool
    ) -> dnswire.Answer | None:
        label = entry["server"]
        try:
            question = dnswire.build_query(entry["qname"], entry["qtype"], rd)
        except Exception as e:  # a name dnspython cannot encode
            entry["error"] = f"cannot build the question: {e}"
            return None
        try:
            check_destination(address)
        except DestinationRefused as e:
            entry["error"] = str(e)
            return None
        try:
            response = dnswire.exchange_udp(question, address, port, budget)
        except dns.exception.Timeout:
            entry["error"] = f"timeout: no answer from {label} within {budget:.1f} s"
            return None
        except ConnectionRefusedError:
            entry["error"] = f"refused: nothing listens on {label} (ICMP port unreachable)"
            return None
        except OSError as e:
            entry["error"] = f"network error talking to {label}: {e.strerror or e}"
            return None
        except Exception as e:  # malformed or unexpected answers
            entry["error"] = f"malformed answer from {label}: {type(e).__name__}: {e}"
            return None
        if not response.flags & dnswire.TC:
            return response
        entry["tc"] = True
        entry["via_tcp"] = True
        return self._retry_tcp(entry, question, address, port, response)

    def _retry_tcp(
        self, entry: dict[str, Any], question: dnswire.Question, address: str, port: int,
        truncated: dnswire.Answer,
    ) -> dnswire.Answer:
        label = entry["server"]
        budget = self._budget()
        if budget is None:
            entry["error"] = f"truncated over UDP; deadline passed before retrying over TCP at {label}"
            return truncated
        try:
            return dnswire.exchange_tcp(question, address, port, budget)
        except dns.exception.Timeout:
            entry["error"] = f"truncated over UDP; timeout over TCP: no answer from {label} within {budget:.1f} s"
        except TimeoutError:
            entry["error"] = f"truncated over UDP; timeout connecting over TCP to {label} within {budget:.1f} s"
        except ConnectionRefusedError:
            entry["error"] = f"truncated over UDP; TCP connection to {label} refused"
        except OSError as e:
            entry["error"] = f"truncated over UDP; TCP error with {label}: {e.strerror or e}"
        except Exception as e:
            entry["error"] = f"truncated over UDP; malformed TCP answer from {label}: {type(e).__name__}: {e}"
        # Keep the truncated UDP answer: it still shows the rcode and flags.
        return truncated
