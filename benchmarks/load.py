"""Keep-alive load generator: POSTs pre-signed, distinct Stripe events to one path.

Run by ``benchmarks.run`` as its own process (like wrk), so the servers and stand-ins never
share its interpreter. Every body is built and signed before the clock starts. Each
thread keeps one ``http.client`` connection open for all its requests.

Closed loop (``--rate 0``): every thread sends its next event as soon as the previous one
is answered, for requests/s and latency at saturation. Open loop (``--rate R``): event
``i`` is sent at ``start + i / R`` whatever the server does, for latency at a steady rate.

Prints one JSON object: counts, statuses, requests/s, p50/p99; with ``--sent-file`` it
also writes ``{event id: time.time() just before its POST}`` there.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from collections import Counter

from .events import SECRET, account_ids, encode, sign, stream

#: Errors of a kept-alive connection the server closed meanwhile: reconnect and resend once.
STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered))) - 1))
    return ordered[rank]


class Load:
    def __init__(self, host: str, port: int, path: str, bodies: list[tuple[str, str]], secret: str):
        self.host, self.port, self.path = host, port, path
        #: (event id, body); each is signed when it is sent, as Stripe signs: a run longer
        #: than the signature tolerance (300 s) must not send stale signatures.
        self.bodies = bodies
        self.secret = secret
        self.next = 0
        self.lock = threading.Lock()
        self.sent: dict[str, float] = {}
        self.latencies: list[float] = []
        self.statuses: Counter[str] = Counter()
        self.late = 0

    def take(self) -> int | None:
        with self.lock:
            if self.next >= len(self.bodies):
                return None
            self.next += 1
            return self.next - 1

    def post(self, conn: http.client.HTTPConnection, index: int) -> str:
        event_id, body = self.bodies[index]
        signature = sign(body, self.secret)
        headers = {"Content-Type": "application/json", "Stripe-Signature": signature}
        for attempt in (1, 2):
            started = time.time()
            try:
                conn.request("POST", self.path, body=body.encode(), headers=headers)
                response = conn.getresponse()
                response.read()
            except STALE:
                conn.close()
                if attempt == 2:
                    return "connection-error"
                continue
            except OSError as exc:
                conn.close()
                return type(exc).__name__
            finished = time.time()
            with self.lock:
                self.sent[event_id] = started
                self.latencies.append(finished - started)
            return str(response.status)
        return "connection-error"

    def worker(self, start: float, rate: float) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            while (index := self.take()) is not None:
                if rate:
                    due = start + index / rate
                    pause = due - time.time()
                    if pause > 0:
                        time.sleep(pause)
                    elif pause < -0.05:
                        with self.lock:
                            self.late += 1
                status = self.post(conn, index)
                with self.lock:
                    self.statuses[status] += 1
        finally:
            conn.close()

    def run(self, threads: int, rate: float) -> dict:
        start = time.time() + 0.05
        workers = [
            threading.Thread(target=self.worker, args=(start, rate), daemon=True)
            for _ in range(threads)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        first = min(self.sent.values(), default=start)
        elapsed = time.time() - first
        ok = sum(n for status, n in self.statuses.items() if status.startswith("2"))
        return {
            "requests": len(self.bodies),
            "ok": ok,
            "statuses": dict(self.statuses),
            "elapsed": elapsed,
            "rps": len(self.latencies) / elapsed if elapsed else 0.0,
            "p50_ms": percentile(self.latencies, 50) * 1000,
            "p99_ms": percentile(self.latencies, 99) * 1000,
            "late": self.late,
            "first_post_at": first,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--path", required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--prefix", required=True, help="makes the event ids of a run distinct")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rate", type=float, default=0.0, help="events/s; 0: closed loop")
    parser.add_argument("--secret", default=SECRET)
    parser.add_argument("--sent-file")
    args = parser.parse_args(argv)
    bodies = [
        (event["id"], encode(event))
        for event in stream(account_ids(args.accounts), args.events, args.prefix)
    ]
    load = Load(args.host, args.port, args.path, bodies, args.secret)
    summary = load.run(args.threads, args.rate)
    if args.sent_file:
        with open(args.sent_file, "w") as out:
            json.dump(load.sent, out)
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
