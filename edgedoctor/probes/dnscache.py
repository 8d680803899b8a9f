"""The answers a sweep's hosts share: a zone's, not a host's, asked once per sweep."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Any

# Purposes whose answers are the zone's, whatever host asked: the SOA walk (a name above the
# host is the same for its siblings), the NS set and their addresses, CAA up the tree.
CACHED = frozenset({"soa", "ns", "ns-address", "caa"})

Asked = tuple[dict[str, Any], Any]  # (the query entry, the answer read: dnswire.Answer or None)


class ZoneCache:
    """Answers that belong to a zone, not to a host, asked once per sweep and shared.

    A sweep of 500 hosts of one zone would otherwise ask the zone's SOA, its NS set and their
    addresses and the CAA records above the hosts 500 times. Only questions whose answer
    cannot depend on the host are cached (see `CACHED`), keyed by the exact question and
    server; a host that hits the cache still records the entry in its own evidence, so its
    diagnosis reads the same answers it would have been given. Errors are not cached (a
    deadline or a lost packet belongs to the host that met it). Thread-safe: hosts asking
    the same question at once wait for the first one's answer instead of asking again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: dict[tuple[Any, ...], Asked] = {}
        self._pending: dict[tuple[Any, ...], threading.Event] = {}
        self.sent = 0  # questions really sent through this cache (for tests and benchmarks)
        self.hits = 0
        # The label of the name no zone has, asked once per parent domain and per sweep to
        # see a wildcard above the hosts (one random label per host would ask the same
        # question of the same zone once per host).
        self.absent_label = f"edgedoctor-{secrets.token_hex(6)}"

    def get_or_ask(self, key: tuple[Any, ...], ask: Callable[[], Asked]) -> tuple[dict[str, Any], Any, bool]:
        """(entry, response, from_cache)."""
        while True:
            with self._lock:
                if key in self._answers:
                    self.hits += 1
                    entry, response = self._answers[key]
                    return dict(entry), response, True
                event = self._pending.get(key)
                if event is None:
                    event = self._pending[key] = threading.Event()
                    break
            event.wait()  # another host is asking; it either caches the answer or fails
        try:
            entry, response = ask()
            with self._lock:
                self.sent += 1
                if not entry["error"]:
                    self._answers[key] = (dict(entry), response)
            return entry, response, False
        finally:
            with self._lock:
                self._pending.pop(key, None)
            event.set()
