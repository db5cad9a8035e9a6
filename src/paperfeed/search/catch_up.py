"""The background catch-up of a process: one thread that applies the store's changes to an index in bounded steps.

Searches must not write the index they read. Before this, every search that found the keyword index behind the
store synced it itself: during a 71,008-paper ingest into a running store, 24 of 33 searches waited 90 s, each
with its own cursor, and four threads indexed every document four times. Now a search only calls ``request()``,
which returns at once: at most one thread per index follows the store, one step (a batch of ``SYNC_BATCH``
changes, one commit) at a time, and exits when nothing is left, so an idle process keeps no thread. Readers
meanwhile answer from the last commit.

A process that exits lets the current step finish first (at most one commit); the next process continues.
Across processes, the index's writer lock decides: a step that finds another process writing (``IndexBusy``)
ends this thread's run; the next request tries again. Any other failure is logged and ends the run the same way
(the store may have been closed under it); the index stays at its last commit.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from collections.abc import Callable

from paperfeed.search.keyword import IndexBusy

log = logging.getLogger("paperfeed.search")
EXIT_WAIT_SECONDS = 30.0
_LIVE: weakref.WeakSet[CatchUp] = weakref.WeakSet()


class CatchUp:
    """Runs ``step`` (returns how many changes it applied, 0 when up to date) on a thread until it returns 0."""

    def __init__(self, step: Callable[[], int], name: str) -> None:
        self._step = step
        self._name = name
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wanted = False
        self._closed = False
        self._idle = threading.Event()
        self._idle.set()
        self.steps = 0  # steps that applied something, for status and tests
        _LIVE.add(self)

    def request(self) -> None:
        """Ask for a catch-up; never waits (a running thread picks the request up before it exits)."""
        with self._lock:
            if self._closed:
                return
            self._wanted = True
            if self._thread is None:
                self._idle.clear()
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no catch-up is running (for start-up, shut-down and tests); False on timeout."""
        return self._idle.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Stop after the current step (its commit is never cut short)."""
        with self._lock:
            self._closed = True
        self.wait(timeout)

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._closed or not self._wanted:
                    self._thread = None
                    self._idle.set()
                    return
                self._wanted = False
            try:
                while not self._closed and self._step() > 0:
                    self.steps += 1
            except IndexBusy:
                pass  # another process is writing this index: it catches up, or the next request retries
            except Exception:  # a background thread has no caller to raise to: log, keep the last commit
                log.warning("%s stopped", self._name, exc_info=True)


class Follower:
    """Asks for a catch-up every ``interval`` seconds, so a process's own index follows writes made elsewhere (another
    web node, a worker, the CLI) even when nobody here searches: a paper written anywhere is searchable here within
    about ``interval`` plus one catch-up step. Each poke costs two small reads (the store's and the index's latest
    change) and starts no thread when nothing is new."""

    def __init__(self, poke: Callable[[], None], interval: float, name: str) -> None:
        self._poke = poke
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        if self._interval > 0:
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self._interval + 5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._poke()
            except Exception:  # the store or the index is away for a moment: the next poke tries again
                log.debug("%s: poke failed", self._thread.name, exc_info=True)


@atexit.register
def _finish_steps() -> None:
    # A short-lived process (a CLI search) may exit during a step: let the step's commit finish rather than kill
    # the daemon thread inside the index library.
    for catch_up in list(_LIVE):
        catch_up.close(EXIT_WAIT_SECONDS)
