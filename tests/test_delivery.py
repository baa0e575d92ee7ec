"""The delivery worker with the locmem backend: batching, order, fresh fields, lease, lock, tasks."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django_q.brokers import get_broker
from django_q.models import Schedule
from django_q.signing import SignedPackage

from bento_stripe import bento, queue
from bento_stripe.delivery import locks, tasks
from bento_stripe.delivery.clock import ManualClock
from bento_stripe.delivery.ratelimit import DatabaseRateLimiter, get_limiter
from bento_stripe.delivery.worker import drain_site, retry_delay, sites_due
from bento_stripe.exceptions import BentoRejectedError, BentoRetryableError
from bento_stripe.models import OutboxEvent
from tests.factories import OutboxEventFactory, SiteFactory, SubscriberFactory

pytestmark = pytest.mark.django_db
S = OutboxEvent.Status


@pytest.fixture(autouse=True)
def fresh_limiter():
    """Forget rate windows of earlier tests (Redis outlives their rolled-back sites)."""
    get_limiter().reset()
    yield
    get_limiter().reset()


@pytest.fixture(autouse=True)
def clean_outbox():
    bento.outbox.clear()
    yield
    bento.outbox.clear()


def conf(**values):
    return override_settings(BENTO_STRIPE={**settings.BENTO_STRIPE, **values})


def rows(site, n, **kwargs):
    return [OutboxEventFactory(site=site, **kwargs) for _ in range(n)]


def test_drains_in_batches_of_batch_size_in_creation_order():
    site = SiteFactory()
    made = rows(site, 25)
    with conf(BATCH_SIZE=10):
        result = drain_site(site.pk)
    assert [len(b.items) for b in bento.outbox] == [10, 10, 5]
    sent = [item["details"]["stripe_event_id"] for b in bento.outbox for item in b.items]
    assert sent == [r.stripe_event_id for r in made]
    assert (result.requests, result.delivered) == (3, 25)
    assert set(OutboxEvent.objects.values_list("status", flat=True)) == {S.DELIVERED}
    assert OutboxEvent.objects.filter(delivered_at__isnull=True).count() == 0


def test_held_rows_and_other_sites_are_never_sent():
    site, other = SiteFactory(), SiteFactory()
    held = OutboxEventFactory(site=site, status=S.HELD)
    OutboxEventFactory(site=other)
    mine = OutboxEventFactory(site=site)
    drain_site(site.pk)
    assert [i["details"]["stripe_event_id"] for i in bento.outbox[0].items] == [
        mine.stripe_event_id
    ]
    held.refresh_from_db()
    assert held.status == S.HELD
    assert OutboxEvent.objects.get(site=other).status == S.PENDING


def test_kinds_go_to_their_endpoints_without_reordering():
    site = SiteFactory()
    SubscriberFactory(site=site, email="a@example.com", fields={"mrr": 10, "plan": "Pro"})
    OutboxEventFactory(site=site, email="a@example.com")
    OutboxEventFactory(site=site, email="a@example.com")
    OutboxEventFactory(
        site=site,
        kind=OutboxEvent.Kind.SUBSCRIBER,
        email="a@example.com",
        event_type="",
        payload={"email": "a@example.com", "fields": {"mrr": 1, "first_name": "Ann"}},
    )
    OutboxEventFactory(
        site=site,
        kind=OutboxEvent.Kind.COMMAND,
        email="a@example.com",
        event_type="change_email",
        payload={"command": "change_email", "email": "a@example.com", "query": "b@example.com"},
    )
    OutboxEventFactory(site=site, email="b@example.com")
    drain_site(site.pk)
    assert [(b.endpoint, len(b.items)) for b in bento.outbox] == [
        ("batch/events", 2),
        ("batch/subscribers", 1),
        ("fetch/commands", 1),
        ("batch/events", 1),
    ]
    assert bento.outbox[1].items == [
        {"email": "a@example.com", "mrr": 10, "plan": "Pro", "first_name": "Ann"}
    ]
    assert bento.outbox[2].items[0]["query"] == "b@example.com"


def test_fields_are_read_from_subscriber_at_send_time():
    site = SiteFactory()
    person = SubscriberFactory(site=site, email="jane@example.com", fields={"lifetime_value": 10})
    old = OutboxEventFactory(site=site, email="jane@example.com")
    old.payload["fields"] = {"lifetime_value": 10, "stale": True}
    old.save()
    person.fields = {"lifetime_value": 25.5, "currency": "USD"}
    person.save()
    drain_site(site.pk)
    assert bento.outbox[0].items[0]["fields"] == {"lifetime_value": 25.5, "currency": "USD"}
    stored = OutboxEvent.objects.get(pk=old.pk)
    assert stored.payload["fields"]["stale"] is True  # the row keeps what the ledger wrote


class Flaky:
    """A backend that raises the queued errors first, then records like locmem."""

    def __init__(self, *errors):
        self.errors = list(errors)
        self.sent = []

    def send(self, site, endpoint, body):
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(body)
        return {}


def test_retryable_error_backs_off_and_holds_back_later_rows():
    site = SiteFactory()
    made = rows(site, 3)
    clock = ManualClock()
    backend = Flaky(BentoRetryableError("Bento answered 503", status=503, retry_after=120))
    with conf(BATCH_SIZE=2):
        first = drain_site(site.pk, clock=clock, backend=backend, budget=30)
    assert backend.sent == []
    assert first.retried == 2 and first.next_due is not None
    assert (first.next_due - clock.now()).total_seconds() >= 120
    waiting = OutboxEvent.objects.get(pk=made[0].pk)
    assert (waiting.status, waiting.attempts, waiting.last_error) == (
        S.PENDING,
        1,
        "Bento answered 503",
    )
    # The third row is due but must not overtake the two waiting ones.
    assert OutboxEvent.objects.get(pk=made[2].pk).attempts == 0
    clock.advance_to(first.next_due)
    with conf(BATCH_SIZE=2):
        drain_site(site.pk, clock=clock, backend=backend, budget=30)
    order = [e["details"]["stripe_event_id"] for body in backend.sent for e in body["events"]]
    assert order == [r.stripe_event_id for r in made]
    assert OutboxEvent.objects.get(pk=made[0].pk).last_error == ""


def test_short_waits_are_slept_inline_within_the_budget():
    site = SiteFactory()
    rows(site, 1)
    clock = ManualClock()
    backend = Flaky(BentoRetryableError("busy", status=429, retry_after=5))
    result = drain_site(site.pk, clock=clock, backend=backend, budget=40, rng=random.Random(1))
    assert result.delivered == 1 and result.next_due is None
    assert clock.sleeps and clock.sleeps[0] >= 5


def test_rejected_batch_fails_with_bentos_message_and_is_not_retried():
    site = SiteFactory()
    bad, good = rows(site, 1)[0], None
    backend = Flaky(BentoRejectedError("Bento answered 400 Bad Request: bad email", status=400))
    with conf(BATCH_SIZE=1):
        good = OutboxEventFactory(site=site)
        result = drain_site(site.pk, backend=backend)
    bad.refresh_from_db()
    assert (bad.status, bad.last_error) == (S.FAILED, "Bento answered 400 Bad Request: bad email")
    assert OutboxEvent.objects.get(pk=good.pk).status == S.DELIVERED
    assert result.failed == 1 and result.delivered == 1


def test_max_attempts_makes_a_row_dead():
    site = SiteFactory()
    row = rows(site, 1)[0]
    clock = ManualClock()
    backend = Flaky(*[BentoRetryableError("down", status=503) for _ in range(3)])
    with conf(MAX_ATTEMPTS=3):
        for _ in range(5):
            result = drain_site(site.pk, clock=clock, backend=backend, budget=0.0001)
            if result.next_due:
                clock.advance_to(result.next_due)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (S.DEAD, 3)
    assert "gave up after 3 attempts" in row.last_error
    assert backend.sent == []


def test_unexpected_backend_exception_is_retried_not_lost():
    site = SiteFactory()
    row = rows(site, 1)[0]
    clock = ManualClock()
    drain_site(site.pk, clock=clock, backend=Flaky(RuntimeError("receiver broke")), budget=0.001)
    row.refresh_from_db()
    assert row.status == S.PENDING and "RuntimeError: receiver broke" in row.last_error


def test_a_lapsed_lease_is_sent_again_and_a_live_one_is_not():
    site = SiteFactory()
    clock = ManualClock()
    row = OutboxEventFactory(
        site=site, status=S.SENDING, lease_expires_at=clock.now() + timedelta(seconds=60)
    )
    result = drain_site(site.pk, clock=clock, budget=10)
    assert bento.outbox == [] and result.next_due == row.lease_expires_at
    assert sites_due(clock.now()) == []
    clock.advance(61)
    assert sites_due(clock.now()) == [site.pk]
    drain_site(site.pk, clock=clock)
    row.refresh_from_db()
    assert row.status == S.DELIVERED and len(bento.outbox) == 1


def test_a_site_held_by_another_worker_is_left_alone_until_its_lock_expires():
    site = SiteFactory()
    rows(site, 1)
    clock = ManualClock()
    assert locks.acquire(site.pk, "other", clock.now(), clock.now() + timedelta(seconds=30))
    assert drain_site(site.pk, clock=clock).busy
    assert bento.outbox == []
    clock.advance(31)
    assert drain_site(site.pk, clock=clock).delivered == 1


class OvertakenLimiter:
    """Grants at once, but only after another sender delivered the rows (a stalled worker)."""

    def __init__(self, site):
        self.site = site

    def acquire(self, site_id, family, now, limit=None):
        OutboxEvent.objects.filter(site=self.site).update(status=S.DELIVERED)
        return 0.0


def test_a_sender_overtaken_while_it_waited_sends_nothing_again():
    site = SiteFactory()
    rows(site, 3)
    result = drain_site(site.pk, limiter=OvertakenLimiter(site))
    assert bento.outbox == []
    assert result.busy and result.requests == 0
    assert set(OutboxEvent.objects.values_list("status", "attempts")) == {(S.DELIVERED, 0)}


def test_backoff_is_full_jitter_capped_and_honours_retry_after():
    rng = random.Random(7)
    with conf(RETRY_BASE_DELAY=2, RETRY_MAX_DELAY=60):
        delays = [retry_delay(attempt, None, rng) for attempt in range(1, 12)]
        assert all(
            0 <= d <= min(60, 2 * 2 ** (a - 1)) for a, d in zip(range(1, 12), delays, strict=True)
        )
        assert retry_delay(1, 30, rng) >= 30
        assert retry_delay(1, 10_000, rng) == 60


def check_limiter(limiter, site_id):
    """Bursts a tenth of the limit, then paces; never more than the limit in any 60 seconds,
    even for requests that reach Bento up to ``MARGIN`` seconds after their grant."""
    clock = ManualClock()
    now = clock.now
    assert [limiter.acquire(site_id, "batch", now(), limit=20) for _ in range(2)] == [0, 0]
    wait = limiter.acquire(site_id, "batch", now(), limit=20)
    assert 3.4 < wait <= 62 / 18  # past the burst: one grant every (60 + 2) / (20 - 2) seconds
    assert limiter.acquire(site_id, "fetch", now(), limit=20) == 0  # its own family
    granted = []
    rng = random.Random(11)
    for _ in range(600):
        wait = limiter.acquire(site_id, "batch", now(), limit=20)
        if wait == 0:
            granted.append(now().timestamp())
        clock.advance(wait if rng.random() < 0.7 else rng.uniform(0, 5))
    granted.sort()
    assert len(granted) > 100
    # Any span of Bento's minute widened by the margin (a late request) ends at a grant.
    assert all(sum(1 for g in granted if t - 62 < g <= t) <= 20 for t in granted)


def check_steady_pace(limiter, site_id):
    """A site that always has rows waiting is never stalled for the rest of a window: every
    wait is one pace at most, and it keeps nine tenths of its limit for ever."""
    from bento_stripe.delivery.ratelimit import WINDOW

    clock = ManualClock()
    start = clock.now().timestamp()
    granted, waits = [], []
    while clock.now().timestamp() - start < 10 * WINDOW:
        wait = limiter.acquire(site_id, "batch", clock.now(), limit=100)
        if wait == 0:
            granted.append(clock.now().timestamp())
            clock.advance(0.01)  # the request itself
        else:
            waits.append(wait)
            clock.advance(wait)
    assert max(waits) <= WINDOW / 90 + 0.001
    assert all(sum(1 for g in granted if t - WINDOW < g <= t) <= 100 for t in granted)
    last_window = [g for g in granted if g > granted[-1] - WINDOW]
    assert len(last_window) >= 89


def test_database_limiter_caps_every_sliding_minute():
    check_limiter(DatabaseRateLimiter(), SiteFactory().pk)


def test_database_limiter_keeps_a_steady_pace():
    check_steady_pace(DatabaseRateLimiter(), SiteFactory().pk)


@pytest.mark.redis
def test_redis_limiter_caps_every_sliding_minute(redis_url):
    from bento_stripe.delivery.ratelimit import RedisRateLimiter

    limiter = RedisRateLimiter(redis_url)
    limiter.reset()
    check_limiter(limiter, 1)
    check_steady_pace(limiter, 2)
    limiter.reset()


@pytest.mark.redis
def test_redis_limiter_waits_a_window_after_redis_lost_its_windows(redis_url):
    """A Redis restarted empty does not hand a site a second burst within Bento's minute."""
    from bento_stripe.delivery.ratelimit import WINDOW, RedisRateLimiter

    limiter = RedisRateLimiter(redis_url)
    limiter.reset()
    clock = ManualClock()
    # A first start waits for nothing.
    assert limiter.acquire(7, "batch", clock.now(), limit=4) == 0
    clock.advance(40)
    assert limiter.acquire(7, "batch", clock.now(), limit=4) == 0
    # Redis loses everything (a restart without persistence).
    for key in limiter.client.scan_iter(f"{limiter.prefix}:*"):
        limiter.client.delete(key)
    clock.advance(1)
    wait = limiter.acquire(7, "batch", clock.now(), limit=4)
    assert WINDOW - 0.1 < wait <= WINDOW
    assert limiter.acquire(8, "batch", clock.now(), limit=4) > 0  # every site waits
    clock.advance(wait)
    assert limiter.acquire(7, "batch", clock.now(), limit=4) == 0
    limiter.reset()


@pytest.mark.redis
def test_redis_limiter_does_not_wait_when_another_process_starts_at_the_same_time(redis_url):
    """Two processes (or a loop's threads) at a first start: the one that finds the database
    row the other just made must not take it for a Redis that lost its windows."""
    from bento_stripe.delivery.ratelimit import RedisRateLimiter
    from bento_stripe.models import RateLimitWindow

    limiter = RedisRateLimiter(redis_url)
    limiter.reset()
    clock = ManualClock()
    # The other process made the row a moment ago and has not set the marker yet.
    RateLimitWindow.objects.create(key=limiter.marker[:100], grants=[clock.now().timestamp()])
    clock.advance(1)
    assert limiter.acquire(9, "batch", clock.now(), limit=20) == 0
    limiter.reset()


@pytest.fixture
def broker():
    """django-q2's broker as configured (ORM, or Redis when REDIS_URL is set), emptied."""
    broker = get_broker()
    broker.purge_queue()
    yield broker
    broker.purge_queue()


def queued(broker) -> list[dict]:
    """The tasks waiting in the broker."""
    found, size = [], broker.queue_size()
    while len(found) < size:
        found += [SignedPackage.loads(pack) for _, pack in broker.dequeue() or []]
    return found


def test_drains_are_queued_after_commit(broker, django_capture_on_commit_callbacks):
    site = SiteFactory()
    rows(site, 2)
    with django_capture_on_commit_callbacks(execute=True):
        queue.drain_sites_on_commit({site.pk})
        assert broker.queue_size() == 0  # nothing before the rows are committed
    (task,) = queued(broker)
    assert task["func"] == queue.DRAIN_SITE and task["args"] == (site.pk,)
    summary = tasks.drain(*task["args"])
    assert summary["delivered"] == 2


def test_sweep_enqueues_due_sites_and_the_schedule_exists(broker):
    due, idle = SiteFactory(), SiteFactory()
    rows(due, 1)
    OutboxEventFactory(site=idle, status=S.DELIVERED)
    assert tasks.sweep() == 1
    # One delivery loop serves every due site.
    assert [(task["func"], task["args"]) for task in queued(broker)] == [(queue.DELIVER, ())]
    (item,) = [s for s in queue.SCHEDULES if s.func == queue.DELIVERY_SWEEP]
    Schedule.objects.filter(name=item.name).delete()
    for _ in range(3):  # each migrate asks; one schedule results
        queue.ensure_schedules()
    schedule = Schedule.objects.get(name=item.name)
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        queue.DELIVERY_SWEEP,
        Schedule.MINUTES,
        1,
    )


def test_replay_command_resends_delivered_rows_since_a_time():
    from django.core.management import CommandError, call_command

    site = SiteFactory()
    old = OutboxEventFactory(site=site, status=S.DELIVERED)
    old.created_at -= timedelta(days=3)
    old.save()
    recent = OutboxEventFactory(site=site, status=S.DELIVERED)
    failed = OutboxEventFactory(site=site, status=S.FAILED, last_error="400", attempts=1)
    with pytest.raises(CommandError, match="--since"):
        call_command("bento_stripe_replay")
    call_command("bento_stripe_replay", "--since", "1d", "--drain")
    sent = [i["details"]["stripe_event_id"] for b in bento.outbox for i in b.items]
    assert sent == [recent.stripe_event_id]
    bento.outbox.clear()
    call_command("bento_stripe_replay", "--failed", "--drain")
    assert [i["details"]["stripe_event_id"] for i in bento.outbox[0].items] == [
        failed.stripe_event_id
    ]
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (S.DELIVERED, 1)
    assert OutboxEvent.objects.get(pk=old.pk).status == S.DELIVERED


def test_admin_replay_action_resends_a_delivered_row(admin_client):
    from django.urls import reverse

    site = SiteFactory()
    row = OutboxEventFactory(site=site, status=S.DELIVERED)
    pending = OutboxEventFactory(site=site)
    response = admin_client.post(
        reverse("admin:bento_stripe_outboxevent_changelist"),
        {"action": "replay", "_selected_action": [row.pk, pending.pk]},
        follow=True,
    )
    assert "1 delivered row queued again. 1 skipped" in response.content.decode()
    row.refresh_from_db()
    assert row.status == S.PENDING
    drain_site(site.pk)
    assert len(bento.outbox[0].items) == 2


def test_admin_searches_by_email_and_stripe_event_id(admin_client):
    from django.urls import reverse

    site = SiteFactory()
    wanted = OutboxEventFactory(site=site, email="find.me@example.com")
    other = OutboxEventFactory(site=site)
    url = reverse("admin:bento_stripe_outboxevent_changelist")
    by_email = admin_client.get(url, {"q": "find.me"}).content.decode()
    by_event = admin_client.get(url, {"q": other.stripe_event_id}).content.decode()
    assert wanted.email in by_email and other.email not in by_email
    assert other.email in by_event and wanted.email not in by_event
    filtered = admin_client.get(url, {"site__id__exact": site.pk, "status__exact": "pending"})
    assert filtered.status_code == 200


def test_replay_since_accepts_dates_datetimes_and_relative_times():
    from django.core.management import CommandError

    from bento_stripe.management.commands.bento_stripe_replay import parse_since

    assert parse_since("2026-11-28").isoformat() == "2026-11-28T00:00:00+00:00"
    assert parse_since("2026-11-28T10:00:00Z").isoformat() == "2026-11-28T10:00:00+00:00"
    with pytest.raises(CommandError, match="relative time"):
        parse_since("yesterday")
