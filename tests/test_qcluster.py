"""Real ``qcluster`` processes on PostgreSQL + Redis draining one outbox into the stand-in Bento."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from django_q.brokers import get_broker

from bento_stripe import queue
from bento_stripe.delivery import tasks
from bento_stripe.delivery.ratelimit import get_limiter
from bento_stripe.models import OutboxEvent, Subscriber
from tests.factories import SiteFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]
ROOT = Path(__file__).resolve().parent.parent
S = OutboxEvent.Status


@pytest.fixture
def broker(redis_url):
    broker = get_broker()
    broker.purge_queue()
    get_limiter().reset()
    yield broker
    broker.purge_queue()


@pytest.fixture
def clusters(server, broker):
    """Start ``qcluster`` processes (each in its own process group); stop them at the end."""
    started: list[subprocess.Popen] = []
    name = connection.settings_dict["NAME"]

    def start(**env):
        environ = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.qcluster_settings",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{name}",
            "BENTO_API_URL": server.url,
            **{k: str(v) for k, v in env.items()},
        }
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in started:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def make_outbox(sites, per_site):
    """``per_site`` events for each site, spread over 50 people with known final fields."""
    start = timezone.now() - timedelta(seconds=5)
    rows, people = [], []
    for site in sites:
        for p in range(50):
            people.append(Subscriber(site=site, email=f"p{p}@example.com", fields={"ltv": p}))
        for i in range(per_site):
            evt = f"evt_{site.pk}_{i:05d}"
            email = f"p{i % 50}@example.com"
            rows.append(
                OutboxEvent(
                    site=site,
                    event_type="$ChargeSucceeded",
                    email=email,
                    dedupe_key=evt,
                    stripe_event_id=evt,
                    created_at=start + timedelta(microseconds=i),
                    next_attempt_at=start,
                    payload={
                        "type": "$ChargeSucceeded",
                        "email": email,
                        "date": "2026-11-28T10:00:00Z",
                        "fields": {},
                        "details": {"stripe_event_id": evt, "unique": {"key": f"ch_{evt}"}},
                    },
                )
            )
    Subscriber.objects.bulk_create(people)
    OutboxEvent.objects.bulk_create(rows, batch_size=1000)
    return rows


def wait_until(predicate, what, timeout=150.0):
    """Poll until ``predicate()`` holds (a safety net against hanging, not a speed check)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"gave up waiting for {what}")


def undelivered():
    return OutboxEvent.objects.exclude(status=S.DELIVERED).count()


def test_two_clusters_drain_5000_rows_none_lost_none_twice(server, clusters):
    sites = [SiteFactory() for _ in range(5)]
    for site in sites:
        server.add_site(site)
    rows = make_outbox(sites, 1000)
    clusters()
    clusters()
    for site in sites:
        queue.drain_sites([site.pk])
        queue.drain_sites([site.pk])  # a duplicate drain must be turned away, not send twice
    wait_until(lambda: undelivered() == 0, "every row delivered")
    server.wait_idle()
    received = Counter(
        e["details"]["stripe_event_id"]
        for site in sites
        for e in server.events(site.bento_site_uuid)
    )
    assert len(rows) == 5000
    assert received == Counter({r.stripe_event_id: 1 for r in rows})
    for site in sites:
        people = server.bento(site.bento_site_uuid).subscribers
        assert {email: f["ltv"] for email, f in people.items()} == {
            f"p{p}@example.com": p for p in range(50)
        }
        assert server.max_per_minute(site.bento_site_uuid, "batch/") <= 100
    assert all(r.status == 200 for r in server.requests)
    assert len(server.requests) == 50  # 1,000 rows a site in batches of 100


def test_kill_9_mid_batch_loses_nothing(server, clusters):
    site = SiteFactory()
    server.add_site(site)
    rows = make_outbox([site], 500)
    # The first request hangs long enough to kill the cluster while it waits for Bento.
    server.fail(times=1, delay=3.0, process=True)
    first = clusters(BENTO_LEASE_SECONDS=5)
    queue.drain_sites([site.pk])
    wait_until(lambda: server.in_flight > 0, "a request in flight")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    server.wait_idle()
    in_flight = OutboxEvent.objects.filter(status=S.SENDING)
    assert in_flight.count() == 100  # the killed batch: claimed, never marked delivered
    assert undelivered() == 500
    clusters(BENTO_LEASE_SECONDS=5)
    # What the once-a-minute sweep does: once the lease lapses, the rows are due again.
    wait_until(lambda: tasks.sweep() > 0, "the lapsed lease to make the site due", timeout=30)
    wait_until(lambda: undelivered() == 0, "every row delivered after the restart")
    server.wait_idle()
    received = Counter(e["details"]["stripe_event_id"] for e in server.events(site.bento_site_uuid))
    assert set(received) == {r.stripe_event_id for r in rows}  # nothing lost
    # At least once: only the batch in flight at the kill reached Bento twice.
    assert sum(received.values()) - len(rows) == 100
    assert set(received.values()) == {1, 2}


def test_webhooks_reach_bento_through_two_clusters_and_a_dead_claim_loses_nothing(server, clusters):
    """Signed events posted to the view (no sync mode: wake-ups go through Redis) are
    processed by two real clusters and reach the stand-in once each; a batch claimed by a
    worker that died holds its account back until the lease lapses, then is applied."""
    from django.test import Client

    from bento_stripe.models import StripeEventRecord
    from bento_stripe.processing import claim
    from bento_stripe.processing import tasks as processing
    from bento_stripe.webhooks.endpoints import ensure_local
    from tests.factories import StripeAccountFactory
    from tests.stripe_events import SECRET, post
    from tests.test_processing import person_events

    endpoint = ensure_local("http://testserver", SECRET)
    accounts = [StripeAccountFactory(), StripeAccountFactory()]
    for account in accounts:
        server.add_site(account.site)
    events = [
        event
        for n, account in enumerate(accounts)
        for event in person_events(account.stripe_user_id, 100 * n, 30)
    ]
    client = Client()
    for event in events[:20]:
        assert post(client, endpoint, event).status_code == 200
    # A worker claimed these and died before applying them.
    dead = claim.claim("killed-worker", 10)
    assert len(dead) == 10
    lease = StripeEventRecord.objects.filter(claim_owner="killed-worker")
    lease.update(claimed_until=timezone.now() + timedelta(minutes=5))
    clusters()
    clusters()
    for event in events[20:]:
        assert post(client, endpoint, event).status_code == 200

    def applied() -> int:
        return StripeEventRecord.objects.filter(status="processed").count()

    # One worker applies an account at a time: the dead claim holds its account back
    # until the lease lapses; the other account goes on.
    wait_until(lambda: applied() == 60, "the other account's events applied")
    time.sleep(1.5)  # the woken tasks' linger ends; nothing else is applied meanwhile
    assert applied() == 60
    assert set(
        StripeEventRecord.objects.filter(status="processed").values_list(
            "stripe_account_id", flat=True
        )
    ) == {accounts[1].stripe_user_id}
    assert lease.count() == 10
    lease.update(claimed_until=timezone.now() - timedelta(seconds=1))  # the lease lapses
    processing.sweep()  # what the minute schedule does
    wait_until(lambda: applied() == len(events), "the dead claim applied")

    def sent() -> Counter:
        return Counter(
            e["details"]["stripe_event_id"]
            for account in accounts
            for e in server.events(account.site.bento_site_uuid)
        )

    wait_until(lambda: len(sent()) == len(events), "every event at Bento")
    server.wait_idle()
    assert set(sent().values()) == {1}  # each exactly once
    assert set(StripeEventRecord.objects.values_list("attempts", flat=True)) == {1}
    ltv = {s.fields["lifetime_value"] for s in Subscriber.objects.all()}
    assert ltv == {49} and Subscriber.objects.count() == 60
