"""The backfill phase: objects imported per second against the list-reading ceiling, and
peak memory, of one account size.

Run by ``benchmarks.run`` (``--phases backfill``) once per size, each in a fresh process
on a fresh copy of the template database; Stripe is ``tests/stripe_list_server.py`` in
another process serving a generated history (``tests/stripe_history.py``), so neither
its memory nor its CPU is counted here, and the seconds it spent answering (it says, at
``/_busy``) are taken out of the rate. Memory is the process's resident set, sampled
every 20 ms during the run, above what it was just before (tracemalloc would slow the
run several times over). Bento is the locmem backend (delivery is the outbox's, measured
elsewhere). Prints one JSON object.

The ceiling, measured first in the same run from the same stand-in: every list the
backfill reads, page by page with the same page size and parameters, through the same
client call, its JSON parsed, and nothing else done; read three times, the fastest
counting (one read lasts a second or less: a burst of other load could halve it). The import is then the backfill task
as users run it (``tasks.backfill``, ``BACKFILL_TASK_BUDGET`` seconds at a time), in the
foreground: this helper starts no qcluster, so each handover runs at once in this
process, and the delivery drains it queues wait in the broker. Then ``import_vs_ceiling`` is its objects/s over the ceiling's, both
in wall-clock time with the stand-in's answering included (``own_import_vs_ceiling``:
both with it left out).

    python -m benchmarks.backfill --charges 10000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
sys.path.insert(0, str(ROOT))
django.setup()

from django.conf import settings  # noqa: E402
from django.test import override_settings  # noqa: E402

from bento_stripe.backfill import services as backfill  # noqa: E402
from bento_stripe.backfill import tasks  # noqa: E402
from bento_stripe.backfill.pages import fetch_page  # noqa: E402
from bento_stripe.backfill.resources import RESOURCES  # noqa: E402
from bento_stripe.models import OutboxEvent, StripeAccount  # noqa: E402
from tests.factories import SiteFactory, StripeAccountFactory  # noqa: E402


def stand_in(account: str, charges: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.stripe_list_server", "--account", account]
        + ["--customers", str(charges // 5), "--charges", str(charges)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    if proc.stdout is None:
        raise RuntimeError("the Stripe stand-in has no stdout")
    return proc, json.loads(proc.stdout.readline())["url"]


def busy(url: str) -> float:
    with urllib.request.urlopen(f"{url}/_busy", timeout=10) as answer:  # noqa: S310 - local
        return float(json.loads(answer.read())["busy"])


def rss() -> int:
    """This process's resident set size in bytes (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """The highest resident set size seen while the block runs, sampled every 20 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss())

    def __enter__(self) -> PeakRss:
        self.base = rss()
        self.peak = self.base
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())


ENGINE = (
    "foreground: the backfill task run in this process until done, each handover at once "
    "(no qcluster; the drain tasks it queues wait in the broker)"
)


def read_lists(account: StripeAccount) -> int:
    """The ceiling's work: every list of the backfill read to its end, nothing applied."""
    objects = 0
    for name in RESOURCES:
        resource, after = RESOURCES[name], ""
        while True:
            page = fetch_page(account, resource.name, resource.params(after, 0))
            objects += len(page.objects)
            if not page.has_more:
                break
            after = page.last_id
    return objects


#: How many times the ceiling reads every list; the fastest read counts.
CEILING_READS = 3


def ceiling(account: StripeAccount, url: str) -> dict:
    """The fastest of ``CEILING_READS`` reads of every list: one read takes a second or
    less, so one burst of other work on the machine could halve it (and flatter the
    ratio); the fastest read only makes the ceiling higher, never lower."""
    reads = []
    for _ in range(CEILING_READS):
        before = busy(url)
        began = time.perf_counter()
        objects = read_lists(account)
        seconds = time.perf_counter() - began
        served = busy(url) - before
        reads.append(
            {
                "objects": objects,
                "seconds": seconds,
                "stand_in_seconds": served,
                "objects_per_second": objects / max(seconds, 1e-9),
                "own_objects_per_second": objects / max(seconds - served, 1e-9),
            }
        )
    best = max(reads, key=lambda r: r["objects_per_second"])
    return {**best, "reads_objects_per_second": [r["objects_per_second"] for r in reads]}


def one(charges: int) -> dict:
    """Backfill a fresh account of ``charges`` charges (and a fifth as many customers)."""
    account_id = f"acct_bench{os.getpid()}x{charges}"
    proc, url = stand_in(account_id, charges)
    try:
        site = SiteFactory()
        account = StripeAccountFactory(team=site.team, site=site, stripe_user_id=account_id)
        account = StripeAccount.objects.get(pk=account.pk)
        conf = {**settings.BENTO_STRIPE, "STRIPE_API_BASE": url, "BACKEND": "locmem"}
        with override_settings(BENTO_STRIPE=conf):
            read = ceiling(account, url)
            backfill.start(account, enqueue=False)
            before = busy(url)
            with PeakRss() as memory:
                began, cpu = time.perf_counter(), time.process_time()
                outcome = tasks.backfill(account.pk)
                while outcome == "more":  # the task handed over: run the next one now
                    outcome = tasks.backfill(account.pk)
                seconds = time.perf_counter() - began
                cpu = time.process_time() - cpu
            served = busy(url) - before
        state = backfill.state(account)
        # Stripe's objects: the last step (people) reads none, it recomputes their fields.
        objects = sum(r.objects_done for r in state.resources if r.resource in RESOURCES)
        own = max(seconds - served, 1e-9)
        return {
            "charges": charges,
            "outcome": outcome,
            "objects": objects,
            "per_resource": {r.resource: r.objects_done for r in state.resources},
            "seconds": seconds,
            "stand_in_seconds": served,
            "objects_per_second": objects / own,
            "engine": ENGINE,
            "wall_objects_per_second": objects / max(seconds, 1e-9),
            "ceiling": read,
            "import_vs_ceiling": objects / max(seconds, 1e-9) / read["objects_per_second"],
            "own_import_vs_ceiling": objects / own / read["own_objects_per_second"],
            # This process's own CPU seconds: on a busy machine the rate mostly measures
            # waiting for a core; this shows what the work itself costs.
            "cpu_seconds": cpu,
            "objects_per_cpu_second": objects / max(cpu, 1e-9),
            "rss_before_bytes": memory.base,
            "peak_rss_bytes": memory.peak,
            "peak_growth_bytes": memory.peak - memory.base,
            "subscriber_rows": OutboxEvent.objects.filter(connection=account).count(),
        }
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--charges", type=int, default=10000)
    args = parser.parse_args()
    print(json.dumps(one(args.charges)))


if __name__ == "__main__":
    main()
