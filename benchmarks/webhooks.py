"""Benchmark: Stripe events translated per second by one worker, and the webhook view's latency.

Run with ``make bench`` or ``.venv/bin/python benchmarks/webhooks.py [--events N]``; set
``DATABASE_URL`` to a PostgreSQL URL to measure there (a ``test_`` database is created and
dropped). Prints numbers; never used as a test.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()
# django-q2 logs one INFO line per queued task: thousands here, hiding the numbers.
logging.getLogger("django-q").setLevel(logging.WARNING)

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    override_settings,
    setup_databases,
    setup_test_environment,
    teardown_databases,
)

from benchmarks import events  # noqa: E402
from bento_stripe.models import OutboxEvent, StripeEventRecord  # noqa: E402
from bento_stripe.processing.tasks import process_waiting  # noqa: E402
from bento_stripe.webhooks.endpoints import endpoint_path, ensure_local  # noqa: E402
from tests.factories import StripeAccountFactory  # noqa: E402
from tests.stripe_events import sign  # noqa: E402

SECRET = "whsec_benchmark_0123456789abcdef"  # noqa: S105  (a made-up test secret)


def stream(account_id: str, n_events: int, prefix: str) -> list[dict]:
    """A realistic mix for one account: customers, subscriptions, invoices, charges, refunds."""
    return events.stream([account_id], n_events, prefix)


def bench_translation(account, n_events: int) -> float:
    """Events processed per second by one worker running the processing task (batches).

    Persistent connections, as a qcluster worker has them: with CONN_MAX_AGE=0 django-q2's
    ORM broker reconnects around every enqueued drain, which dominates on PostgreSQL.
    """
    connection.settings_dict["CONN_MAX_AGE"] = None
    records = [
        StripeEventRecord(
            stripe_event_id=e["id"],
            event_type=e["type"],
            stripe_account_id=e["account"],
            created=e["created"],
            payload=e,
        )
        for e in stream(account.stripe_user_id, n_events, "t")
    ]
    StripeEventRecord.objects.bulk_create(records)
    ids = list(StripeEventRecord.objects.order_by("pk").values_list("pk", flat=True))
    start = time.perf_counter()
    process_waiting(linger=0)
    elapsed = time.perf_counter() - start
    if StripeEventRecord.objects.filter(status="processed").count() != len(ids):
        raise RuntimeError("some events were not processed")
    return len(ids) / elapsed


def bench_view(account, n_requests: int, persistent: bool) -> tuple[float, float]:
    """Median and p99 milliseconds of a signed POST to the webhook view (queueing included)."""
    # The example project closes connections after each request (CONN_MAX_AGE=0); a
    # production deployment usually keeps them (CONN_MAX_AGE=None or a number of seconds).
    connection.settings_dict["CONN_MAX_AGE"] = None if persistent else 0
    endpoint = ensure_local("http://testserver", SECRET)
    path = endpoint_path(endpoint.djstripe_uuid)
    client = Client()
    timings = []
    for event in stream(account.stripe_user_id, n_requests, "vp" if persistent else "v0"):
        body = json.dumps(event)
        header = sign(body, SECRET)
        start = time.perf_counter()
        response = client.post(
            path, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )
        timings.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"webhook answered {response.status_code}: {response.content!r}")
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False)
    try:
        q_cluster = {**settings.Q_CLUSTER, "sync": False}
        lookups_off = {**settings.BENTO_STRIPE, "LOOKUP_EMAILS": False}
        with override_settings(Q_CLUSTER=q_cluster, BENTO_STRIPE=lookups_off):
            account = StripeAccountFactory(stripe_user_id="acct_benchmark")
            rate = bench_translation(account, args.events)
            median, p99 = bench_view(account, args.requests, persistent=True)
            median_0, p99_0 = bench_view(account, args.requests // 2, persistent=False)
        vendor = connection.vendor
        print(f"database: {vendor}")
        print(f"translation, one worker: {rate:.0f} events/s ({args.events} events)")
        print(f"outbox rows written: {OutboxEvent.objects.count()}")
        print(
            f"webhook view, persistent connections: median {median:.2f} ms, p99 {p99:.2f} ms "
            f"({args.requests} requests)"
        )
        print(
            f"webhook view, CONN_MAX_AGE=0: median {median_0:.2f} ms, p99 {p99_0:.2f} ms "
            f"({args.requests // 2} requests)"
        )
    finally:
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
