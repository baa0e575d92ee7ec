"""One delivery loop sends to several sites at once: a slow Bento answer to one site holds up
no other, and no site is ever sent to by two threads at once."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from bento_stripe.delivery import loop
from bento_stripe.delivery.pool import SitePool
from bento_stripe.delivery.ratelimit import get_limiter
from bento_stripe.delivery.worker import DrainResult
from bento_stripe.models import OutboxEvent
from tests.bento_server import BentoServer
from tests.factories import OutboxEventFactory, SiteFactory

S = OutboxEvent.Status


class Gate:
    """Visits that wait until released, counting how many run at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.release = threading.Event()
        self.seen: list[int] = []

    def visit(self, site_id: int, site: object) -> DrainResult:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.seen.append(site_id)
        self.release.wait(5)
        with self.lock:
            self.running -= 1
        if site_id == 13:
            raise RuntimeError("site 13 broke")
        return DrainResult(site_id, requests=1, delivered=1)


def test_a_pool_runs_up_to_its_width_at_once_and_never_one_site_twice():
    gate = Gate()
    pool = SitePool(3, gate.visit)
    for site_id in (1, 2, 3):
        pool.submit(site_id, None)
    assert pool.full
    with pytest.raises(ValueError, match="already"):
        pool.submit(2, None)
    deadline = time.monotonic() + 5
    while gate.running < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert gate.running == 3 and pool.collect() == []
    gate.release.set()
    done = pool.finish()
    assert sorted(r.site_id for r in done) == [1, 2, 3] and not pool.in_flight
    pool.submit(2, None)  # free again
    assert [r.site_id for r in pool.finish()] == [2]
    pool.shutdown()
    assert gate.most == 3 and not pool._threads


def test_a_visit_that_raises_reaches_the_loop_after_the_others_end():
    gate = Gate()
    gate.release.set()
    pool = SitePool(2, gate.visit)
    pool.submit(13, None)
    pool.submit(14, None)
    with pytest.raises(RuntimeError, match="site 13 broke"):
        pool.finish()
    pool.shutdown()
    assert not pool.in_flight and sorted(gate.seen) == [13, 14]


def test_width_one_visits_in_the_callers_thread_with_no_thread():
    caller = threading.get_ident()
    threads = []

    def visit(site_id, site):
        threads.append(threading.get_ident())
        return DrainResult(site_id)

    pool = SitePool(1, visit)
    for site_id in (1, 2):
        pool.submit(site_id, None)
        assert not pool.full
    assert [r.site_id for r in pool.collect()] == [1, 2]
    pool.shutdown()
    assert threads == [caller, caller] and not pool._threads


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_loop_sends_to_several_sites_at_once_while_bento_takes_its_time():
    """Bento answers each request in 0.3 s: eight sites are served by four threads, each
    site's rows are delivered once, in order, and no site has two requests at once."""
    server = BentoServer().start()
    server.latency = 0.3
    sites = [SiteFactory() for _ in range(8)]
    rows = {}
    for site in sites:
        server.add_site(site)
        rows[site.pk] = [OutboxEventFactory(site=site) for _ in range(3)]
    # Old enough to go as they are (no batch left to fill).
    OutboxEvent.objects.update(created_at=timezone.now() - timedelta(seconds=10))
    get_limiter().reset()
    values = {
        **settings.BENTO_STRIPE,
        "BACKEND": "http",
        "API_URL": server.url,
        "BATCH_SIZE": 2,
        "DELIVERY_CONCURRENCY": 4,
    }
    try:
        with override_settings(BENTO_STRIPE=values):
            assert loop.concurrency() == 4
            result = loop.run(budget=30, linger=0, once=True)
    finally:
        server.stop()
        get_limiter().reset()
    assert result.delivered == 24 and result.requests == 16
    assert set(OutboxEvent.objects.values_list("status", flat=True)) == {S.DELIVERED}
    assert 2 <= server.most_in_flight <= 4
    assert set(server.most_in_flight_per_site.values()) == {1}
    for site in sites:
        sent = [e["details"]["stripe_event_id"] for e in server.events(site.bento_site_uuid)]
        assert sent == [r.stripe_event_id for r in rows[site.pk]]
