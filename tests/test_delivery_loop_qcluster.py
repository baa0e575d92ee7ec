"""Real qcluster processes (PostgreSQL + Redis): more busy sites than worker slots, and no
site's rows wait for another site's rate-limit wait."""

from __future__ import annotations

import pytest
from django.db.models import Max, Min
from django.utils import timezone

from bento_stripe import queue
from bento_stripe.delivery.ratelimit import get_limiter
from bento_stripe.models import OutboxEvent
from tests.factories import SiteFactory
from tests.test_qcluster import broker, clusters, make_outbox, undelivered, wait_until

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]
__all__ = ["broker", "clusters"]  # fixtures used by name

LIMIT = 4  # a minute: a burst of 1, then one request every 62 / 3 s


def test_waiting_sites_hold_no_worker_slot_and_every_other_site_goes_first(server, clusters):
    """Four sites whose rate budget is spent (their next request may go in 30 s) and 20
    sites with rows, served by 2 clusters x 2 workers (4 slots). A worker that sleeps
    through a site's wait would fill every slot with the four waiting sites; the rows of
    the 20 others must all reach Bento before any waiting site's next request."""
    waiting = [SiteFactory() for _ in range(4)]
    others = [SiteFactory() for _ in range(20)]
    for site in waiting + others:
        server.add_site(site)
    make_outbox(waiting, 3)
    make_outbox(others, 3)
    limiter = get_limiter()
    for site in waiting:
        while limiter.acquire(site.pk, "batch", timezone.now(), LIMIT) == 0:
            pass
    clusters(BENTO_RATE_LIMIT=LIMIT)
    clusters(BENTO_RATE_LIMIT=LIMIT)
    queue.drain_sites([s.pk for s in waiting])  # the waiting sites are asked first
    queue.drain_sites([s.pk for s in others])
    wait_until(lambda: undelivered() == 0, "every row delivered", timeout=120)
    others_done = OutboxEvent.objects.filter(site__in=others).aggregate(t=Max("delivered_at"))["t"]
    waiting_first = OutboxEvent.objects.filter(site__in=waiting).aggregate(t=Min("delivered_at"))[
        "t"
    ]
    assert others_done < waiting_first
    for site in waiting + others:
        assert server.max_per_minute(site.bento_site_uuid, "batch/") <= LIMIT


def test_one_wake_up_serves_many_sites(server, clusters):
    """Rows of 30 sites, one wake-up: the delivery loops send every site's rows once."""
    sites = [SiteFactory() for _ in range(30)]
    for site in sites:
        server.add_site(site)
    rows = make_outbox(sites, 5)
    clusters()
    queue.wake_delivery(force=True)
    wait_until(lambda: undelivered() == 0, "every row delivered", timeout=120)
    server.wait_idle()
    sent = [
        e["details"]["stripe_event_id"] for s in sites for e in server.events(s.bento_site_uuid)
    ]
    assert sorted(sent) == sorted(r.stripe_event_id for r in rows)
    assert len(server.requests) == 30  # one request a site: its five rows in one batch
