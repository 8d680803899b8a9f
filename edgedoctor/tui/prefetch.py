"""Work done in a forked child while the TUI's process imports Textual.

Reading and diagnosing a replay (YAML, the certificate library, the engine) and importing
Textual take about as long as each other and need nothing from each other: on a machine
with two cores, running them side by side takes a third off the first screen's wait.
The result comes back pickled through a pipe. Where fork is missing or unsafe (another
thread is running: the child could inherit a held lock) the work runs in this process
when its result is asked for, so the outcome is the same either way, only slower.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Pending(Generic[T]):
    """The result of `work`, computed by a child process when one could be forked."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._work = work
        self._pid = 0
        self._read = -1
        if hasattr(os, "fork") and threading.active_count() == 1:
            self._fork()

    def _fork(self) -> None:
        r, w = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # no process left to fork: do it here later
            os.close(r)
            os.close(w)
            return
        if pid == 0:  # the child: never returns into the caller's code
            os.close(r)
            code = 0
            try:
                try:
                    outcome: tuple[bool, object] = (True, self._work())
                except Exception as e:  # the caller gets the error as if it ran here
                    outcome = (False, e)
                data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(w, "wb") as f:
                    f.write(data)
            except BaseException:  # an unpicklable result: the parent does the work itself
                code = 1
            finally:
                os._exit(code)  # no atexit, no flush of the parent's buffers
        os.close(w)
        self._pid, self._read = pid, r

    def running(self) -> bool:
        """Is the child still at work (nothing on its pipe yet)?"""
        if not self._pid or hasattr(self, "_outcome"):
            return False
        ready, _, _ = select.select([self._read], [], [], 0)
        return not ready

    def result(self) -> T:
        """The work's value (raising its exception); waits for the child, once."""
        if not hasattr(self, "_outcome"):
            self._outcome = self._collect()
        ok, value = self._outcome
        if ok:
            return value  # type: ignore[return-value]
        raise value  # type: ignore[misc]

    def close(self) -> None:
        """Done with it: a child still running is not left waiting on its pipe."""
        if self._pid:
            os.close(self._read)
            os.kill(self._pid, signal.SIGKILL)  # its work is not wanted any more
            os.waitpid(self._pid, 0)
            self._pid = 0

    def _collect(self) -> tuple[bool, object]:
        if self._pid:
            with os.fdopen(self._read, "rb") as f:
                data = f.read()
            os.waitpid(self._pid, 0)
            self._pid = 0
            try:
                return pickle.loads(data)
            except Exception:  # the child died or sent nothing usable: do the work here
                pass
        try:
            return True, self._work()
        except Exception as e:
            return False, e
