"""The delivery loop: one loop serves every ready site, never sleeps on one site's wait,
and decides from the outbox (shared) when a site's rows go."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from bento_stripe import bento, queue, wakeups
from bento_stripe.delivery import loop, tasks
from bento_stripe.delivery.clock import SystemClock
from bento_stripe.delivery.ratelimit import get_limiter
from bento_stripe.models import OutboxEvent
from tests.factories import OutboxEventFactory, SiteFactory

pytestmark = pytest.mark.django_db
S = OutboxEvent.Status


@pytest.fixture(autouse=True)
def fresh():
    get_limiter().reset()
    bento.outbox.clear()
    yield
    get_limiter().reset()
    bento.outbox.clear()


@pytest.fixture
def no_sleeping(monkeypatch):
    """A worker that sleeps on a site's behalf holds a slot other sites need: forbid it."""

    def refuse(self, seconds):
        raise AssertionError(f"the worker slept {seconds:.1f} s on one site's behalf")

    monkeypatch.setattr(SystemClock, "sleep", refuse)


def conf(**values):
    return override_settings(BENTO_STRIPE={**settings.BENTO_STRIPE, **values})


def exhaust(site_id, limit):
    """Use up a site's burst so that its next request must wait (``limit`` a minute)."""
    limiter = get_limiter()
    while limiter.acquire(site_id, "batch", timezone.now(), limit) == 0:
        pass


@pytest.mark.parametrize(
    ("rows", "age", "expected"),
    [
        (100, 0.0, True),  # a full batch goes at once
        (1, 0.05, True),  # a trickle goes at once: it would take 5 s to fill a batch
        (2, 0.1, True),  # 20 a second: a batch would fill only after 5 s
        (60, 0.5, False),  # 120 a second: a batch fills within 0.9 s, wait for it
        (60, 5.0, True),  # the longest wait: sent as it is
        (90, 4.0, False),  # almost full, and it would fill by 4.4 s
    ],
)
def test_ready_sends_a_trickle_at_once_and_gathers_only_while_a_batch_fills(rows, age, expected):
    with conf(BATCH_SIZE=100, GATHER_SECONDS=0.0, GATHER_MAX_SECONDS=5.0):
        assert loop.ready(rows, age, 100) is expected


def test_gather_seconds_is_a_floor():
    with conf(GATHER_SECONDS=1.0, GATHER_MAX_SECONDS=5.0):
        assert loop.ready(1, 0.5, 100) is False
        assert loop.ready(1, 1.0, 100) is True


def aged(row, seconds):
    """Make a row look ``seconds`` old (``created_at`` is set on insert)."""
    OutboxEvent.objects.filter(pk=row.pk).update(
        created_at=timezone.now() - timedelta(seconds=seconds)
    )
    return row


def test_ready_sites_reads_the_outbox_oldest_first():
    first, second, gathering = SiteFactory(), SiteFactory(), SiteFactory()
    aged(OutboxEventFactory(site=second), 1)
    aged(OutboxEventFactory(site=first), 2)
    for _ in range(60):  # a burst just now: waits for its batch to fill
        aged(OutboxEventFactory(site=gathering), 0.1)
    OutboxEventFactory(site=SiteFactory(), status=S.DELIVERED)
    with conf(GATHER_SECONDS=0.0, GATHER_MAX_SECONDS=5.0):
        assert loop.ready_sites(timezone.now()) == ([first.pk, second.pk], True)


def test_one_loop_serves_every_site_while_a_rate_limited_one_waits(no_sleeping):
    limited = SiteFactory()
    others = [SiteFactory() for _ in range(24)]
    for site in [limited, *others]:
        aged(OutboxEventFactory(site=site), 1)
    with conf(RATE_LIMIT_PER_MINUTE=4):
        exhaust(limited.pk, 4)
        result = loop.run(budget=30, linger=0, once=True)
    assert result.requests == 24 and result.sites == {s.pk for s in others}
    assert OutboxEvent.objects.get(site=limited).status == S.PENDING
    assert set(OutboxEvent.objects.exclude(site=limited).values_list("status", flat=True)) == {
        S.DELIVERED
    }


def test_a_drain_task_never_sleeps_in_its_worker_slot(no_sleeping, monkeypatch):
    """The per-site drain task used to sleep through a rate-limit wait inside its worker
    slot (up to its 40-second budget); it now leaves the wait to a delivery loop."""
    woken = []
    monkeypatch.setattr(queue, "is_sync", lambda: False)
    monkeypatch.setattr(queue, "wake_delivery", lambda **kw: woken.append(kw))
    site = SiteFactory()
    OutboxEventFactory(site=site)
    with conf(RATE_LIMIT_PER_MINUTE=4):
        exhaust(site.pk, 4)
        summary = tasks.drain(site.pk)
    assert summary["requests"] == 0 and summary["next_due"] is not None
    assert woken == [{"force": True}]
    assert OutboxEvent.objects.get(site=site).status == S.PENDING


def test_the_loop_sends_one_batch_per_site_per_visit_in_turn():
    a, b = SiteFactory(), SiteFactory()
    for site in (a, b):
        for _ in range(3):
            aged(OutboxEventFactory(site=site), 10)
    with conf(BATCH_SIZE=2):
        result = loop.run(budget=30, linger=0)
    sites = [batch.site_id for batch in bento.outbox]
    assert sites == [a.pk, b.pk, a.pk, b.pk] and result.delivered == 6


def test_a_loop_woken_for_nothing_ends_at_once():
    result = loop.run(budget=30, linger=30)
    assert (result.passes, result.requests) == (1, 0)


def test_wake_ups_are_shared_one_per_interval(monkeypatch):
    """The first wake-up of an interval wins, whichever process asks (the database marker)."""
    enqueued = []
    monkeypatch.setattr(queue, "is_sync", lambda: False)
    monkeypatch.setattr(queue, "enqueue", lambda func, *a, **kw: enqueued.append(func))
    with conf(DELIVERY_WAKE_INTERVAL=60, REDIS_URL=""):
        queue.wake_delivery()
        queue.wake_delivery()
        wakeups.forget()  # as another process, which remembers nothing: the marker decides
        queue.defer_drains({1: 5})
        queue.wake_delivery(force=True)
    assert enqueued == [queue.DELIVER, queue.DELIVER]
    with conf(DELIVERY_WAKE_INTERVAL=0):
        assert wakeups.first_in_interval("delivery", 0) is True


def test_a_looking_loop_holds_the_wake_up_so_commits_queue_no_second_loop(monkeypatch):
    """While a loop looks, a commit's wake-up (from another process) queues no other loop:
    one loop serves every site, and the broker does not fill with loops that would run
    only after it."""
    enqueued = []
    monkeypatch.setattr(queue, "is_sync", lambda: False)
    monkeypatch.setattr(queue, "enqueue", lambda func, *a, **kw: enqueued.append(func))
    # A worker closes stale connections between looks; the test's connection holds its
    # transaction.
    monkeypatch.setattr(loop, "close_old_connections", lambda: None)
    real_sleep, slept = loop.time.sleep, []

    def sleep(seconds):
        if not slept:
            wakeups.forget()  # as another process: the shared marker decides
            queue.wake_delivery()
        slept.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(loop.time, "sleep", sleep)
    aged(OutboxEventFactory(site=SiteFactory()), 10)
    with conf(DELIVERY_WAKE_INTERVAL=0.1, REDIS_URL=""):
        result = loop.run(budget=30, linger=0.5)
    assert result.delivered == 1 and slept
    assert enqueued == []


@pytest.mark.redis
def test_wake_ups_are_shared_through_redis(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    client.delete(f"{wakeups.PREFIX}:test")
    with conf(REDIS_URL=redis_url):
        assert wakeups.first_in_interval("test", 30) is True
        wakeups.forget()  # another process: Redis decides
        assert wakeups.first_in_interval("test", 30) is False
    client.delete(f"{wakeups.PREFIX}:test")


def test_tasks_go_to_the_queue_of_their_kind(monkeypatch):
    seen = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *a, **kw: seen.append(kw))
    queues = {"delivery": "bs_delivery", "backfill": "bs_backfill"}
    with conf(QUEUES=queues):
        queue.enqueue(queue.DELIVER)
        queue.enqueue(queue.BACKFILL, 1)
        queue.enqueue(queue.PROCESS_EVENTS)
    assert [kw.get("cluster") for kw in seen] == ["bs_delivery", "bs_backfill", None]
    assert queue.cluster_of(queue.RECONCILE_ACCOUNT) is None  # QUEUES unset: default cluster


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"QUEUES": ["delivery"]}, "bento_stripe.E030"),
        ({"QUEUES": {"sending": "x"}}, "bento_stripe.E030"),
        ({"QUEUES": {"delivery": "nowhere"}}, "bento_stripe.W010"),
        ({"DELIVERY_BUDGET": 600}, "bento_stripe.E031"),
        ({"DELIVERY_LINGER": 0.3, "DELIVERY_WAKE_INTERVAL": 0.25}, "bento_stripe.E032"),
        ({"ENDPOINT_CACHE_SECONDS": "5"}, "bento_stripe.E034"),
        ({"DELIVERY_CONCURRENCY": 0}, "bento_stripe.E033"),
    ],
)
def test_system_checks_of_the_queues_and_the_loop(values, expected):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    with conf(**values), pytest.raises(SystemCheckError, match=expected):
        call_command("check", fail_level="WARNING")


def test_the_queues_of_the_example_layout_pass_the_checks():
    from bento_stripe.checks import check_delivery_loop, check_queues

    q_cluster = {**settings.Q_CLUSTER, "ALT_CLUSTERS": {"bs_delivery": {}}}
    with override_settings(Q_CLUSTER=q_cluster), conf(QUEUES={"delivery": "bs_delivery"}):
        assert check_queues() == [] and check_delivery_loop() == []


def test_a_loop_pass_costs_a_handful_of_queries_per_site(django_assert_max_num_queries):
    """A loop's pass sends one batch to each ready site; what it costs the database per site
    (lock, read the head of its queue, claim, read the fields, record, release) does not grow
    with the sites or the rows, and the sites are read once per pass."""

    def one_pass(sites):
        for site in sites:
            for _ in range(3):
                aged(OutboxEventFactory(site=site), 10)
        with django_assert_max_num_queries(10_000) as captured:
            result = loop.run(budget=30, linger=0, once=True)
        assert result.requests == len(sites) and result.delivered == 3 * len(sites)
        return len(captured.captured_queries)

    few, many = [SiteFactory() for _ in range(2)], [SiteFactory() for _ in range(12)]
    one_pass(few + many)  # the first visit makes each site's lock and rate-limit rows
    bento.outbox.clear()
    small, large = one_pass(few), one_pass(many)
    per_site = (large - small) / (len(many) - len(few))
    assert per_site == PER_SITE_QUERIES[get_limiter().__class__.__name__]
    assert small - len(few) * per_site <= 3  # the pass itself: due rows and the sites


#: Queries of one site's visit: lock, the head of its queue, claim (an UPDATE and a read,
#: with the transaction's savepoint pair under the test's transaction), the fields at send
#: time, the outcome, the release; the database limiter adds its window's row.
PER_SITE_QUERIES = {"RedisRateLimiter": 9, "DatabaseRateLimiter": 14}
