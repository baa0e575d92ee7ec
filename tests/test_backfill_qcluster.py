"""A backfill in real ``qcluster`` processes (PostgreSQL + Redis): the worker is killed
mid-way (SIGKILL), a new cluster resumes it from its cursor, and the fields equal those
of an undisturbed backfill."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from bento_stripe import services
from bento_stripe.backfill import services as backfill
from bento_stripe.backfill import tasks
from bento_stripe.models import BackfillCursor, StripeAccount
from tests.backfill_helpers import fields, wipe
from tests.stripe_history import History
from tests.test_qcluster import broker, clusters  # noqa: F401 - fixtures

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]
ACCOUNT = "acct_1BackfillKilled01"


def wait_for(predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


def test_a_killed_cluster_resumes_the_backfill_from_its_cursor(
    server,
    stripe_lists,
    clusters,  # noqa: F811
    settings,
    site,
):
    history = History(ACCOUNT, customers=100, charges=1500)
    lists = stripe_lists(history)
    # Clean run in this process first (no workers): the fields to expect.
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "BACKFILL_ON_CONNECT": False}
    account, _ = services.connect_account(
        team=site.team, site=site, stripe_user_id=ACCOUNT, livemode=False
    )
    backfill.start(account, enqueue=False)
    assert backfill.run(account) == "done"
    expected = fields(site)
    wipe()
    server.requests.clear()

    lists.before_page = lambda resource: time.sleep(0.2)  # slow enough to kill mid-way
    env = {"STRIPE_API_BASE": lists.url, "BENTO_BACKFILL_TASK_BUDGET": "5"}
    first = clusters(**env)
    backfill.start(account)  # queued on commit (autocommit here): the cluster takes it

    def charges_pages() -> int:
        row = BackfillCursor.objects.filter(account=account, resource="charges").first()
        return row.pages_done if row else 0

    wait_for(lambda: charges_pages() >= 3)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    killed_at = charges_pages()
    assert 3 <= killed_at < 15
    assert not backfill.state(account).done

    # The sweep finds it abandoned (no progress for BACKFILL_STALE_AFTER) and queues it.
    BackfillCursor.objects.filter(account=account).update(
        updated_at=timezone.now() - timedelta(hours=1)
    )
    clusters(**env)
    assert tasks.sweep() == [account.pk]
    wait_for(lambda: backfill.state(StripeAccount.objects.get(pk=account.pk)).done)
    charges = [dict(r["query"]).get("starting_after") for r in lists.list_requests("charges")]
    assert charges.count(None) == 2  # the clean run's first page, the killed run's: no restart
    assert fields(site) == expected
    server.wait_idle(timeout=60)
    wait_for(lambda: server.bento(site.bento_site_uuid).subscribers == expected, timeout=120)
    assert {r.endpoint for r in server.requests} == {"batch/subscribers"}
