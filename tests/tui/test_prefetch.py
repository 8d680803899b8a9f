"""edgedoctor.tui.prefetch: work done in a forked child gives what it would give here."""

from __future__ import annotations

import os
import threading
import time

import pytest

from edgedoctor.collect import EvidenceError
from edgedoctor.tui.prefetch import Pending

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")


def no_threads(monkeypatch) -> None:
    # pytest and its plugins may run threads; the real command has none when it forks.
    monkeypatch.setattr(threading, "active_count", lambda: 1)


def test_the_value_comes_from_the_child(monkeypatch):
    no_threads(monkeypatch)
    p = Pending(os.getpid)
    assert p.running() in (True, False)
    child = p.result()
    assert child != os.getpid()  # computed in another process
    assert p.result() == child  # asked twice: the same answer, the work not done again
    assert not p.running()


def test_the_childs_error_is_raised_here(monkeypatch):
    no_threads(monkeypatch)

    def bad() -> None:
        raise EvidenceError("x.yaml: not an edgedoctor recording")

    p = Pending(bad)
    with pytest.raises(EvidenceError, match="not an edgedoctor recording"):
        p.result()


def test_what_cannot_travel_is_computed_here(monkeypatch):
    no_threads(monkeypatch)
    p = Pending(lambda: (os.getpid(), threading.Lock()))  # a lock does not pickle
    pid, lock = p.result()
    assert pid == os.getpid() and lock.acquire(blocking=False)


def test_with_threads_running_nothing_is_forked():
    started = threading.Event()
    stop = threading.Event()
    t = threading.Thread(target=lambda: (started.set(), stop.wait(10)))
    t.start()
    try:
        started.wait(5)
        p = Pending(os.getpid)
        assert not p.running() and p.result() == os.getpid()
    finally:
        stop.set()
        t.join()


def test_close_ends_a_child_still_at_work(monkeypatch):
    no_threads(monkeypatch)
    p = Pending(lambda: time.sleep(30))
    assert p.running()
    t0 = time.monotonic()
    p.close()
    assert time.monotonic() - t0 < 5
    assert not p.running()
