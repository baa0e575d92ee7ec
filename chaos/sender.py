"""Stripe's side of the run: deliveries of the workload's events, with Stripe's semantics.

Each event is delivered 1-3 times, roughly in ``created`` order but shuffled locally;
some copies go at the same moment from another connection (concurrently); about 3% of
events are held back a long while, so they arrive "hours late" by their ``created``.
Every POST is signed at send time as Stripe signs (``t=...,v1=HMAC-SHA256``) with the
endpoint's secret. A delivery that gets no 2xx is retried after a short pause, as
Stripe retries (compressed: seconds, not hours).
"""

from __future__ import annotations

import heapq
import http.client
import json
import random
import threading
import time
from collections import Counter

from benchmarks.events import sign

from .workload import Event


def schedule(events: list[Event], seconds: float, seed: int) -> list[tuple[float, int]]:
    """(offset in seconds, index into ``events``) of every delivery, in offset order."""
    r = random.Random(seed * 7919 + 1)
    n = len(events)
    out: list[tuple[float, int]] = []
    span = seconds * 0.92
    for i in range(n):
        base = i / n * span + r.uniform(-1.5, 1.5)
        if r.random() < 0.03:  # late: minutes of wall time, hours of created time
            base += r.uniform(0.1, 0.4) * seconds
        base = min(max(base, 0.0), seconds)
        out.append((base, i))
        copies = 0 if r.random() < 0.75 else (1 if r.random() < 0.8 else 2)
        for _ in range(copies):
            if r.random() < 0.35:
                out.append((base, i))  # the same moment: concurrently, another connection
            else:
                out.append((min(base + r.uniform(0.2, 15.0), seconds), i))
    out.sort()
    return out


class Sender:
    def __init__(
        self,
        events: list[Event],
        plan: list[tuple[float, int]],
        port: int,
        path: str,
        secret: str,
        threads: int = 6,
    ):
        self.events = events
        self.bodies = [json.dumps(e.body(), separators=(",", ":")) for e in events]
        self.heap: list[tuple[float, int, int]] = [(t, k, i) for k, (t, i) in enumerate(plan)]
        heapq.heapify(self.heap)
        self.port, self.path, self.secret = port, path, secret
        self.threads = threads
        self.lock = threading.Condition()
        self.start_at = 0.0
        #: Seconds the schedule was held back by pauses.
        self.shift = 0.0
        self.paused = False
        self.in_flight = 0
        self.stopping = False
        #: event id → time.time() of its first 2xx.
        self.accepted: dict[str, float] = {}
        self.posts = 0
        self.statuses: Counter[str] = Counter()
        self.retries = 0
        self.counter = len(plan)
        self.workers: list[threading.Thread] = []

    def start(self) -> None:
        self.start_at = time.time()
        for _ in range(self.threads):
            t = threading.Thread(target=self.work, daemon=True)
            t.start()
            self.workers.append(t)

    def now(self) -> float:
        return time.time() - self.start_at - self.shift

    def pause(self) -> float:
        """Stop sending and wait until nothing is in flight; returns when it paused."""
        with self.lock:
            self.paused = True
            self.lock.wait_for(lambda: self.in_flight == 0)
            return time.time()

    def resume(self, paused_at: float) -> None:
        with self.lock:
            self.shift += time.time() - paused_at
            self.paused = False
            self.lock.notify_all()

    def done(self) -> bool:
        with self.lock:
            return not self.heap and self.in_flight == 0

    def stop(self) -> None:
        with self.lock:
            self.stopping = True
            self.lock.notify_all()
        for t in self.workers:
            t.join(timeout=10)

    def take(self) -> int | None:
        with self.lock:
            while True:
                if self.stopping:
                    return None
                if self.paused or not self.heap:
                    self.lock.wait(0.2)
                    continue
                due = self.heap[0][0] - self.now()
                if due > 0:
                    self.lock.wait(min(due, 0.2))
                    continue
                _, _, index = heapq.heappop(self.heap)
                self.in_flight += 1
                return index

    def finish(self, index: int, ok: bool) -> None:
        with self.lock:
            self.in_flight -= 1
            if not ok:  # Stripe tries again later
                self.retries += 1
                self.counter += 1
                heapq.heappush(self.heap, (self.now() + 1.0, self.counter, index))
            self.lock.notify_all()

    def work(self) -> None:
        conn: http.client.HTTPConnection | None = None
        while (index := self.take()) is not None:
            event_id = self.events[index].id
            body = self.bodies[index]
            headers = {
                "Content-Type": "application/json",
                "Stripe-Signature": sign(body, self.secret, int(time.time())),
            }
            status = "error"
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.request("POST", self.path, body=body.encode(), headers=headers)
                response = conn.getresponse()
                response.read()
                status = str(response.status)
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                if conn is not None:
                    conn.close()
                conn = None
            ok = status.startswith("2")
            with self.lock:
                self.posts += 1
                self.statuses[status] += 1
                if ok:
                    self.accepted.setdefault(event_id, time.time())
            self.finish(index, ok)
        if conn is not None:
            conn.close()
