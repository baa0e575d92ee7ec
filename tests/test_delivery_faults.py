"""Faults of a real stand-in Bento server: what Bento ends up with, what the admin shows, rates."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from bento_stripe.bento.backends.http import HttpBackend
from bento_stripe.delivery.clock import ManualClock
from bento_stripe.delivery.ratelimit import get_limiter
from bento_stripe.delivery.worker import drain_site
from bento_stripe.models import OutboxEvent
from tests.bento_server import BentoServer
from tests.factories import OutboxEventFactory, SiteFactory, SubscriberFactory

pytestmark = pytest.mark.django_db
S = OutboxEvent.Status
PEOPLE = ["ann@example.com", "bob@example.com", "cy@example.com"]


@pytest.fixture(autouse=True)
def fresh_limiter():
    """Forget rate windows of earlier tests (Redis outlives their rolled-back sites)."""
    get_limiter().reset()
    yield
    get_limiter().reset()


@pytest.fixture
def clock():
    # A second ahead, so rows the test writes are already due when the worker looks.
    return ManualClock(timezone.now() + timedelta(seconds=1))


@pytest.fixture
def server(clock):
    stand_in = BentoServer(clock=lambda: clock.now().timestamp()).start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def site(server):
    site = SiteFactory()
    server.add_site(site)
    return site


def conf(server, **values):
    return override_settings(
        BENTO_STRIPE={
            **settings.BENTO_STRIPE,
            "BACKEND": "http",
            "API_URL": server.url,
            "HTTP_TIMEOUT": (2.0, 0.3),
            **values,
        }
    )


def stream(site, n):
    """``n`` charge events spread over three people, whose final fields are known."""
    made = []
    for i in range(n):
        email = PEOPLE[i % 3]
        row = OutboxEventFactory(site=site, email=email, stripe_event_id=f"evt_{site.pk}_{i:05d}")
        row.payload["details"]["unique"] = {"key": f"ch_{i}"}
        row.payload["fields"] = {"lifetime_value": i}  # stale: the ledger moved on since
        row.save()
        made.append(row)
    for position, email in enumerate(PEOPLE):
        SubscriberFactory(site=site, email=email, fields={"lifetime_value": 1000 + position})
    return made


def drain_until_idle(site, clock, rounds=500):
    """Run drains as the queue would, moving the clock to each wait instead of sleeping."""
    for _ in range(rounds):
        result = drain_site(site.pk, clock=clock, backend=HttpBackend(), rng=random.Random(3))
        if result.next_due:
            clock.advance_to(result.next_due)
            continue
        if not OutboxEvent.objects.filter(site=site, status__in=[S.PENDING, S.SENDING]).exists():
            return
    raise AssertionError("the outbox never drained")


def assert_bento_has_each_event_once_with_final_fields(server, site, made):
    events = server.events(site.bento_site_uuid)
    counts = Counter(e["details"]["stripe_event_id"] for e in events)
    assert counts == Counter({r.stripe_event_id: 1 for r in made})
    people = server.bento(site.bento_site_uuid).subscribers
    assert {e: people[e]["lifetime_value"] for e in PEOPLE} == {
        "ann@example.com": 1000,
        "bob@example.com": 1001,
        "cy@example.com": 1002,
    }


def test_503_for_a_while_then_recovery(server, site, clock):
    made = stream(site, 250)
    server.fail(times=4, status=503)
    with conf(server, BATCH_SIZE=100):
        drain_until_idle(site, clock)
    assert_bento_has_each_event_once_with_final_fields(server, site, made)
    assert [r.status for r in server.requests] == [503] * 4 + [200] * 3
    assert set(OutboxEvent.objects.values_list("status", flat=True)) == {S.DELIVERED}
    assert OutboxEvent.objects.get(pk=made[0].pk).attempts == 5


def test_429_with_retry_after_waits_at_least_that_long(server, site, clock):
    made = stream(site, 30)
    server.fail(times=1, status=429, retry_after="45")
    with conf(server):
        drain_until_idle(site, clock)
    assert_bento_has_each_event_once_with_final_fields(server, site, made)
    first, second = server.requests
    assert first.status == 429 and second.status == 200
    assert second.at - first.at >= 45


def test_429_without_retry_after_backs_off(server, site, clock):
    made = stream(site, 30)
    server.fail(times=3, status=429)
    with conf(server, RETRY_BASE_DELAY=4):
        drain_until_idle(site, clock)
    assert_bento_has_each_event_once_with_final_fields(server, site, made)
    assert [r.status for r in server.requests] == [429, 429, 429, 200]
    assert clock.sleeps  # waited between attempts, on the injected clock


def test_timeouts_of_dropped_requests_leave_each_event_once(server, site, clock):
    made = stream(site, 20)
    server.fail(times=2, delay=0.6)
    with conf(server):
        drain_until_idle(site, clock)
    server.wait_idle()
    assert_bento_has_each_event_once_with_final_fields(server, site, made)


def test_a_timeout_after_bento_processed_resends_harmlessly(server, site, clock):
    made = stream(site, 20)
    server.fail(times=1, delay=0.6, process=True)
    with conf(server):
        drain_until_idle(site, clock)
    server.wait_idle()
    events = server.events(site.bento_site_uuid)
    # At least once: the timed-out request did reach Bento, so it got the batch twice,
    # with the same unique keys (Bento counts each purchase once).
    assert len(events) == 40, [(r.status, r.items) for r in server.requests]
    keys = Counter((e["details"]["stripe_event_id"], e["details"]["unique"]["key"]) for e in events)
    assert set(keys.values()) == {2} and len(keys) == len(made)


def test_400_with_error_body_fails_without_retry_and_the_admin_shows_it(
    server, site, clock, admin_client
):
    made = stream(site, 3)
    server.fail(times=1, status=400, body={"error": "Email is not valid"})
    with conf(server, BATCH_SIZE=1):
        drain_until_idle(site, clock)
    failed = OutboxEvent.objects.get(pk=made[0].pk)
    assert (failed.status, failed.attempts) == (S.FAILED, 1)
    assert failed.last_error == "Bento answered 400 Bad Request: Email is not valid"
    ids = [e["details"]["stripe_event_id"] for e in server.events(site.bento_site_uuid)]
    assert ids == [r.stripe_event_id for r in made[1:]]
    page = admin_client.get(
        reverse("admin:bento_stripe_outboxevent_changelist"), {"status__exact": "failed"}
    ).content.decode()
    assert "Email is not valid" in page and failed.email in page


def test_connection_refused_then_server_back(server, site, clock):
    made = stream(site, 10)
    server.stop()
    with conf(server):
        result = drain_site(site.pk, clock=clock, backend=HttpBackend(), budget=1)
        assert result.delivered == 0 and result.retried >= 10
        assert "Could not reach Bento" in result.errors[0]
        server.start()
        drain_until_idle(site, clock)
    assert_bento_has_each_event_once_with_final_fields(server, site, made)


def test_dead_rows_after_max_attempts_show_in_the_admin_and_retry_now_sends_them(
    server, site, clock, admin_client
):
    made = stream(site, 3)
    server.fail(times=3, status=502)
    with conf(server, MAX_ATTEMPTS=3):
        drain_until_idle(site, clock)
        assert set(OutboxEvent.objects.values_list("status", flat=True)) == {S.DEAD}
        page = admin_client.get(reverse("admin:bento_stripe_outboxevent_changelist")).content
        assert b"Dead (attempts exhausted)" in page and b"gave up after 3 attempts" in page
        response = admin_client.post(
            reverse("admin:bento_stripe_outboxevent_changelist"),
            {"action": "retry_now", "_selected_action": [r.pk for r in made]},
        )
        assert response.status_code == 302
        drain_until_idle(site, clock)
    assert_bento_has_each_event_once_with_final_fields(server, site, made)


def test_requests_per_minute_per_site_and_family_never_exceed_the_limit(server, clock):
    sites = [SiteFactory(), SiteFactory()]
    made = {}
    for site in sites:
        server.add_site(site)
        made[site.pk] = stream(site, 200)
        for n in range(12):
            OutboxEventFactory(
                site=site,
                kind=OutboxEvent.Kind.COMMAND,
                email=f"x{n}@example.com",
                event_type="add_tag",
                payload={"command": "add_tag", "email": f"x{n}@example.com", "query": "vip"},
            )
    server.fail(times=3, status=503)
    with conf(server, BATCH_SIZE=10, RATE_LIMIT_PER_MINUTE=5):
        for _ in range(400):
            for site in sites:
                drain_site(site.pk, clock=clock, backend=HttpBackend(), rng=random.Random(5))
            if not OutboxEvent.objects.filter(status__in=[S.PENDING, S.SENDING]).exists():
                break
            clock.advance(1)
    for site in sites:
        assert_bento_has_each_event_once_with_final_fields(server, site, made[site.pk])
        assert len(server.bento(site.bento_site_uuid).commands) == 12
        assert 3 <= server.max_per_minute(site.bento_site_uuid, "batch/") <= 5
        assert 1 <= server.max_per_minute(site.bento_site_uuid, "fetch/") <= 5
    span = server.requests[-1].at - server.requests[0].at
    assert span >= 4 * 60  # 20+ batch requests at 5 a minute take minutes of (injected) time


def test_one_malformed_event_fails_alone_and_the_rest_of_its_batch_is_delivered(
    server, site, clock
):
    made = stream(site, 40)
    bad = made[13]
    bad.payload["type"] = ""
    bad.save()
    with conf(server, BATCH_SIZE=20):
        drain_until_idle(site, clock)
    bad.refresh_from_db()
    assert bad.status == S.FAILED and bad.attempts == 1
    assert bad.last_error == "Bento answered 422 Unprocessable Entity: event 0 has no type"
    delivered = [e["details"]["stripe_event_id"] for e in server.events(site.bento_site_uuid)]
    assert sorted(delivered) == sorted(r.stripe_event_id for r in made if r.pk != bad.pk)
    assert len(delivered) == len(set(delivered))
    # 20✗ 10✓ 10✗ 5✗ 2✓ 2✗ 1✓ 1✗ (isolated) then full batches again: 20✓ 6✓
    assert [(r.status, r.items) for r in server.requests] == [
        (422, 20),
        (200, 10),
        (422, 10),
        (422, 5),
        (200, 2),
        (422, 2),
        (200, 1),
        (422, 1),
        (200, 20),
        (200, 6),
    ]
