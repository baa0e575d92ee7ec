"""Processing throughput: waiting Stripe events applied per second by separate worker processes.

``python -m benchmarks.processing --events N --batches 1,10,100 --workers 1,2`` on a migrated
database with the benchmark tenants (``DJANGO_SETTINGS_MODULE=benchmarks.settings``). For
each batch size and worker count it empties the event, ledger and outbox tables, records
``N`` events as the webhook does (bulk), starts that many worker processes (each runs
``process_waiting`` as a qcluster task would; Django is set up before the clock starts),
and times them from "go" until the last one found nothing left. Then, in this process,
it counts SQL queries per event with ``CaptureQueriesContext`` over a separate set of
events. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")


def data_models():
    """Tables one processing run fills, children first (emptied between runs)."""
    from django.apps import apps

    from bento_stripe import models

    names = [
        models.OutboxEvent,
        models.Subscriber,
        models.LedgerDispute,
        models.LedgerCharge,
        models.LedgerSubscription,
        models.LedgerCustomer,
        models.StripeEventRecord,
        models.RateLimitWindow,
        models.DeliveryLock,
    ]
    return names + [apps.get_model("django_q", "OrmQ"), apps.get_model("django_q", "Task")]


def reset() -> None:
    """Empty what a run fills; keep tenants, endpoints and schedules."""
    from django.db import connection

    tables = [connection.ops.quote_name(m._meta.db_table) for m in data_models()]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)}")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - our own table names
    flush_redis()


def flush_redis() -> None:
    """Forget queued tasks and limiter windows in the benchmark's Redis database."""
    url = os.environ.get("REDIS_URL")
    if url:
        import redis

        redis.Redis.from_url(url).flushdb()


def record(events: list[dict]) -> None:
    """Store events as waiting, as the webhook view does (one row each), in bulk."""
    from bento_stripe.models import StripeEventRecord

    StripeEventRecord.objects.bulk_create(
        [
            StripeEventRecord(
                stripe_event_id=e["id"],
                event_type=e["type"],
                stripe_account_id=e["account"],
                livemode=e["livemode"],
                created=e["created"],
                api_version=e["api_version"],
                payload=e,
            )
            for e in events
        ],
        batch_size=500,
    )


def events_for(n: int, prefix: str, accounts: int) -> list[dict]:
    from .events import account_ids, stream

    return stream(account_ids(accounts), n, prefix)


def run_workers(count: int, batch: int) -> dict:
    """Start ``count`` worker processes, let them go at once, wait for all of them."""
    env = {**os.environ, "BENCH_PROCESS_BATCH_SIZE": str(batch)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.processing", "--worker"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    try:
        for w in workers:
            if w.stdout.readline().strip() != "ready":
                raise RuntimeError("a processing worker did not start")
        go = time.time()
        for w in workers:
            w.stdin.write("go\n")
            w.stdin.flush()
        results = [json.loads(w.stdout.readline()) for w in workers]
        for w in workers:
            w.wait(timeout=60)
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
    end = max(r["end"] for r in results)
    done = sum(r["done"] for r in results)
    return {"done": done, "seconds": end - go, "per_worker": [r["done"] for r in results]}


def worker() -> int:
    """One worker process: set up, say ready, wait for go, run ``process_waiting``."""
    import django

    django.setup()
    from django.db import connection

    from bento_stripe.processing.tasks import process_waiting

    connection.ensure_connection()
    print("ready", flush=True)
    sys.stdin.readline()
    done = process_waiting(budget=3600, linger=0)
    print(json.dumps({"done": done, "end": time.time()}), flush=True)
    return 0


def count_queries(n: int, batch: int, accounts: int) -> dict:
    """SQL queries per event of ``process_waiting`` in this process (broker writes included)."""
    from django.conf import settings
    from django.db import connection
    from django.test import override_settings
    from django.test.utils import CaptureQueriesContext

    from bento_stripe.processing.tasks import process_waiting

    reset()
    record(events_for(n, f"q{batch}x", accounts))
    conf = {**settings.BENTO_STRIPE, "PROCESS_BATCH_SIZE": batch}
    with override_settings(BENTO_STRIPE=conf), CaptureQueriesContext(connection) as ctx:
        done = process_waiting(budget=3600, linger=0)
    broker = sum(1 for q in ctx.captured_queries if "django_q_" in q["sql"])
    return {
        "events": done,
        "queries": len(ctx.captured_queries),
        "per_event": len(ctx.captured_queries) / max(1, done),
        "broker_queries": broker,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--query-events", type=int, default=500)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--batches", default="1,10,100")
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    if args.worker:
        return worker()
    import django

    django.setup()
    from django.db import connection

    from bento_stripe.models import StripeEventRecord

    results: dict = {"events": args.events, "runs": {}, "queries": {}}
    for batch in [int(b) for b in args.batches.split(",")]:
        for count in [int(w) for w in args.workers.split(",")]:
            reset()
            record(events_for(args.events, f"w{count}b{batch}x", args.accounts))
            connection.close()  # no open connection of ours beside the workers'
            run = run_workers(count, batch)
            left = StripeEventRecord.objects.exclude(status="processed").count()
            run["events_per_second"] = args.events / run["seconds"]
            run["not_processed"] = left
            results["runs"][f"batch{batch}_workers{count}"] = run
        results["queries"][f"batch{batch}"] = count_queries(args.query_events, batch, args.accounts)
    reset()
    json.dump(results, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
