"""Delivery numbers against the local Bento stand-in: throughput, requests per 1,000, latency.

Run ``make bench`` (or ``python -m benchmarks.delivery``). Uses a fresh SQLite file, or,
when ``DATABASE_URL`` points at PostgreSQL, a fresh ``bench_<name>`` database beside it. One worker
in this process drains with the real HTTP backend; a producer thread writes outbox rows
and wakes the worker as ``outbox_ready`` would (the broker hop of django-q2 is not in it).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def setup_django() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        base, _, name = url.rpartition("/")
        os.environ["DATABASE_URL"] = f"{base}/bench_{name}"
        label = f"PostgreSQL (bench_{name}, dropped and made anew)"
        import psycopg

        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "bench_{name}"')
            admin.execute(f'CREATE DATABASE "bench_{name}"')
    else:
        path = os.path.join(tempfile.mkdtemp(), "bench.sqlite3")
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
        label = "SQLite file"
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ.pop("REDIS_URL", None)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    return label


def make_rows(site, n, start_index=0):
    from django.utils import timezone

    from bento_stripe.models import OutboxEvent

    now = timezone.now()
    rows = []
    for i in range(start_index, start_index + n):
        evt = f"evt_bench_{site.pk}_{i:07d}"
        email = f"p{i % 200}@example.com"
        rows.append(
            OutboxEvent(
                site=site,
                event_type="$ChargeSucceeded",
                email=email,
                dedupe_key=evt,
                stripe_event_id=evt,
                created_at=now,
                next_attempt_at=now - timedelta(seconds=1),
                payload={
                    "type": "$ChargeSucceeded",
                    "email": email,
                    "date": "2026-11-28T10:00:00Z",
                    "fields": {},
                    "details": {"stripe_event_id": evt, "unique": {"key": f"ch_{evt}"}},
                },
            )
        )
    OutboxEvent.objects.bulk_create(rows, batch_size=1000)
    return rows


def new_site(server):
    from tests.factories import SiteFactory

    site = SiteFactory()
    server.add_site(site)
    return site


def throughput(server, n=5000):
    """Events a second one worker delivers from a full outbox."""
    from bento_stripe.bento.backends.http import HttpBackend
    from bento_stripe.delivery.worker import drain_site

    site = new_site(server)
    make_rows(site, n)
    started = time.perf_counter()
    delivered = 0
    while delivered < n:
        result = drain_site(site.pk, backend=HttpBackend(), budget=600)
        delivered += result.delivered
    elapsed = time.perf_counter() - started
    return (
        n / elapsed,
        elapsed,
        len([r for r in server.requests if r.site_uuid == site.bento_site_uuid]),
    )


def stream(server, rate, seconds, chunk):
    """A producer writing ``chunk`` rows at a time at ``rate`` rows/s; one worker draining.

    Returns requests per 1,000 events and row-created → Bento-request latencies (seconds).
    """
    from django.db import connection

    from bento_stripe.bento.backends.http import HttpBackend
    from bento_stripe.delivery.worker import drain_site
    from bento_stripe.models import OutboxEvent

    site = new_site(server)
    uuid = site.bento_site_uuid
    total = int(rate * seconds)
    ready = threading.Event()
    done = threading.Event()

    def produce():
        try:
            made, t0 = 0, time.perf_counter()
            while made < total:
                make_rows(site, min(chunk, total - made), made)
                made += chunk
                ready.set()  # what outbox_ready → async_task(drain) does
                pause = t0 + made / rate - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
        finally:
            connection.close()
            done.set()

    producer = threading.Thread(target=produce)
    producer.start()
    backend = HttpBackend()
    while not (
        done.is_set() and not OutboxEvent.objects.filter(site=site, status="pending").exists()
    ):
        ready.wait(timeout=0.05)
        ready.clear()
        drain_site(site.pk, backend=backend, budget=60)
    producer.join()
    created = dict(
        OutboxEvent.objects.filter(site=site).values_list("stripe_event_id", "created_at")
    )
    latencies = []
    requests = [r for r in server.requests if r.site_uuid == uuid]
    for request in requests:
        for event in request.body["events"]:
            latencies.append(request.at - created[event["details"]["stripe_event_id"]].timestamp())
    return 1000 * len(requests) / total, latencies, len(requests)


def webhook_latency(server, customers=40, gap=0.02):
    """Webhook received → Bento request, for signed simulated streams posted one by one.

    The webhook's processing task runs in-process (django-q2 ``sync`` for it); a worker
    thread drains the outbox when ``outbox_ready`` fires, as a qcluster worker would
    after the broker hop (which is left out).
    """
    import io
    import json

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client, override_settings

    from bento_stripe import signals, simulation
    from bento_stripe.bento.backends.http import HttpBackend
    from bento_stripe.delivery.worker import drain_site
    from bento_stripe.models import OutboxEvent
    from tests.factories import StripeAccountFactory

    site = new_site(server)
    account = StripeAccountFactory(site=site, livemode=False)
    secret = "whsec_bench_0123456789abcdef"  # noqa: S105 - a local benchmark secret
    out = io.StringIO()
    call_command(
        "bento_stripe_endpoint",
        "--url",
        "http://testserver",
        "--local",
        "--secret",
        secret,
        "--json",
        stdout=out,
    )
    path = json.loads(out.getvalue())["path"]
    ready, done = threading.Event(), threading.Event()

    def wake(**kwargs):
        ready.set()

    def work():
        backend = HttpBackend()
        try:
            while True:
                ready.wait(timeout=0.05)
                ready.clear()
                drain_site(site.pk, backend=backend, budget=60)
                if (
                    done.is_set()
                    and not OutboxEvent.objects.filter(site=site, status="pending").exists()
                ):
                    return
        finally:
            connection.close()

    signals.outbox_ready.connect(wake, dispatch_uid="bench-wake")
    worker = threading.Thread(target=work)
    worker.start()
    client = Client()
    received: dict[str, float] = {}
    try:
        with override_settings(Q_CLUSTER={**settings.Q_CLUSTER, "sync": True}):
            for n in range(customers):
                for event in simulation.stream(account.stripe_user_id, f"c{n}@example.com"):
                    body = simulation.encode(event)
                    received[event["id"]] = time.time()
                    client.post(
                        path,
                        data=body,
                        content_type="application/json",
                        HTTP_STRIPE_SIGNATURE=simulation.signature(body, secret),
                    )
                    time.sleep(gap)
    finally:
        done.set()
        ready.set()
        worker.join()
        signals.outbox_ready.disconnect(dispatch_uid="bench-wake")
    server.wait_idle()
    latencies, requests = [], 0
    for request in server.requests:
        if request.site_uuid != site.bento_site_uuid or request.endpoint != "batch/events":
            continue
        requests += 1
        for item in request.body["events"]:
            latencies.append(request.at - received[item["details"]["stripe_event_id"]])
    return latencies, len(received), requests


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    label = setup_django()
    from django.conf import settings
    from django.test import override_settings

    from tests.bento_server import BentoServer

    server = BentoServer().start()
    conf = {**settings.BENTO_STRIPE, "BACKEND": "http", "API_URL": server.url}
    print(f"bento-stripe delivery benchmark on {label}, stand-in Bento at {server.url}")
    with override_settings(BENTO_STRIPE=conf):
        per_second, elapsed, requests = throughput(server)
        print(
            f"throughput: 5,000 events in {elapsed:.2f} s by one worker = {per_second:,.0f} "
            f"events/s ({requests} requests of up to 100)"
        )
        per_thousand, _, _ = stream(server, rate=2000, seconds=3, chunk=20)
        print(
            f"burst: 6,000 events written at ~2,000/s in commits of 20 → "
            f"{per_thousand:.1f} Bento requests per 1,000 events (floor at BATCH_SIZE 100: 10.0)"
        )
        _, latencies, count = stream(server, rate=20, seconds=10, chunk=1)
        print(
            "latency outbox row created → Bento request (steady 20 events/s, one row per commit): "
            f"median {statistics.median(latencies) * 1000:.1f} ms, "
            f"p99 {pct(latencies, 99) * 1000:.1f} ms over {len(latencies)} events "
            f"in {count} requests"
        )
        print(
            "  (measured from the outbox row, not the webhook: the django-q2 broker hop and the "
            "webhook's own translation time are not included)"
        )
        latencies, posted, requests = webhook_latency(server)
        print(
            f"latency webhook received → Bento request ({posted} signed Stripe events at "
            f"~40/s, processed in-process, one drain worker thread): median "
            f"{statistics.median(latencies) * 1000:.1f} ms, p99 {pct(latencies, 99) * 1000:.1f} "
            f"ms over {len(latencies)} Bento events in {requests} requests"
        )
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
