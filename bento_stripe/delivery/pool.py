"""Sending to several sites at once from one delivery loop.

A request to Bento takes as long as Bento takes to answer; a loop that sent to one site
after another would serve no more sites a second than one over that time. The loop hands
each ready site's visit (``Drainer.run``, one batch) to a ``SitePool``: ``width`` threads,
each with its own database connection (Django keeps one per thread), closed when the pool
is shut. A site is never visited by two threads at once (the loop submits a site only
when it is not in flight; across loops and machines the site's lock still holds).

``width`` 1 runs each visit in the caller's thread at submission, with no thread at all:
what SQLite (serial writes) and tests inside one transaction need.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from django.db import connections

from .worker import DrainResult

#: A visit: the site's id and its row, returning what the drain did.
Visit = Callable[[int, Any], DrainResult]


class SitePool:
    """Runs site visits on ``width`` threads; ``collect`` hands back the finished ones."""

    def __init__(self, width: int, visit: Visit) -> None:
        self.width = max(1, int(width))
        self.visit = visit
        self.in_flight: set[int] = set()
        self._done: queue.Queue[tuple[int, DrainResult | None, BaseException | None]] = (
            queue.Queue()
        )
        self._todo: queue.Queue[tuple[int, Any] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []

    # -- submitting ------------------------------------------------------------------------
    @property
    def full(self) -> bool:
        return len(self.in_flight) >= self.width

    def submit(self, site_id: int, site: Any) -> None:
        """Visit ``site_id`` (now, in this thread, at width 1; else on a free thread)."""
        if site_id in self.in_flight:
            raise ValueError(f"site {site_id} is already being visited")
        self.in_flight.add(site_id)
        if self.width == 1:
            self._run(site_id, site)
            self.in_flight.discard(site_id)  # done already; its result waits for ``collect``
            return
        if len(self._threads) < self.width:
            thread = threading.Thread(
                target=self._work, name=f"bento-delivery-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        self._todo.put((site_id, site))

    # -- collecting ------------------------------------------------------------------------
    def collect(self, wait: float = 0.0) -> list[DrainResult]:
        """Visits finished since the last call; waits up to ``wait`` seconds for the first
        when there is none yet and some are in flight. A visit that raised re-raises here."""
        out: list[tuple[int, DrainResult | None, BaseException | None]] = []
        try:
            if wait > 0 and self.in_flight and self._done.empty():
                out.append(self._done.get(timeout=wait))
            while True:
                out.append(self._done.get_nowait())
        except queue.Empty:
            pass
        results = []
        error: BaseException | None = None
        for site_id, result, exc in out:
            self.in_flight.discard(site_id)
            if exc is not None:
                error = error or exc
            elif result is not None:
                results.append(result)
        if error is not None:
            raise error
        return results

    def finish(self) -> list[DrainResult]:
        """Wait for every visit in flight and hand them back."""
        results = self.collect()
        while self.in_flight:
            results += self.collect(wait=1.0)
        return results

    def shutdown(self) -> None:
        """Let every visit end, then stop the threads (each closes its own connections)."""
        try:
            self.finish()
        finally:
            for _ in self._threads:
                self._todo.put(None)
            for thread in self._threads:
                thread.join()
            self._threads.clear()

    # -- the threads -----------------------------------------------------------------------
    def _run(self, site_id: int, site: Any) -> bool:
        try:
            self._done.put((site_id, self.visit(site_id, site), None))
            return True
        except BaseException as exc:  # noqa: BLE001 - handed to the loop, which re-raises it
            self._done.put((site_id, None, exc))
            return False

    def _work(self) -> None:
        try:
            while (job := self._todo.get()) is not None:
                if not self._run(*job):
                    # A broken connection (a database restart) is opened afresh next time.
                    connections.close_all()
        finally:
            connections.close_all()  # this thread's connections only
