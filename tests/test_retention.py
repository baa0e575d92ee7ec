"""Retention: bento_stripe_prune removes what is old in small batches, never what waits, and a
pruned Stripe event id is still never processed twice."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from djstripe.models import WebhookEventTrigger

from bento_stripe import bento, queue
from bento_stripe.models import (
    LedgerCharge,
    LedgerCustomer,
    OutboxEvent,
    StripeEventRecord,
    Subscriber,
)
from bento_stripe.operations.retention import prune

from .factories import OutboxEventFactory
from .stripe_events import ACCOUNT_ID, load

pytestmark = pytest.mark.django_db

S = OutboxEvent.Status
E = StripeEventRecord.Status

EVENTS = ("customer_created", "charge_succeeded", "customer_subscription_created")


@pytest.fixture(autouse=True)
def clean_outbox():
    bento.outbox.clear()
    yield
    bento.outbox.clear()


def _state() -> tuple:
    """What Bento's side and the ledger look like: fields, ledger money."""
    fields = sorted((s.email, sorted(s.fields.items())) for s in Subscriber.objects.all())
    ledger = sorted(LedgerCharge.objects.values_list("charge_id", "captured", "refunded", "email"))
    return fields, ledger


def _sent_items() -> list[dict]:
    return [item for batch in bento.outbox for item in batch.items]


def _prune(*args: str) -> str:
    out = StringIO()
    call_command("bento_stripe_prune", *args, stdout=out)
    return out.getvalue()


def test_prune_days_0_then_redeliver_sends_nothing_and_changes_no_field(account, deliver):
    events = [load(name) for name in EVENTS]
    assert all(r.status_code == 200 for r in deliver(*events))
    assert _sent_items(), "the first delivery reached Bento"
    assert StripeEventRecord.objects.filter(status=E.PROCESSED).count() == len(events)
    before = _state()
    bento.outbox.clear()

    output = _prune("--days", "0")

    assert f"{len(events)} event records compacted" in output
    records = list(StripeEventRecord.objects.all())
    assert len(records) == len(events), "compact rows stay for dedupe"
    assert all(r.payload == {} and r.pruned_at and r.note == "" for r in records)
    assert not OutboxEvent.objects.exists(), "delivered rows are deleted"

    responses = deliver(*[load(name) for name in EVENTS])
    assert [r.json()["duplicate"] for r in responses] == [True] * len(events)
    assert _sent_items() == [], "nothing reaches Bento a second time"
    assert _state() == before, "no field and no ledger row changed"
    assert StripeEventRecord.objects.count() == len(events)
    assert not OutboxEvent.objects.exists()


def test_compact_rows_live_retention_days_after_compaction_whatever_days_says(account, deliver):
    deliver(load("charge_succeeded"))
    prune(0)
    now = timezone.now()
    # --days 0 again, 29 days later: the compact row still guards the id.
    report = prune(0, now=now + timedelta(days=29))
    assert report.counts["compact event records deleted"] == 0
    assert StripeEventRecord.objects.count() == 1
    report = prune(0, now=now + timedelta(days=31))
    assert report.counts["compact event records deleted"] == 1
    assert not StripeEventRecord.objects.exists()


def test_waiting_failed_held_and_dead_rows_are_never_pruned(account):
    old = timezone.now() - timedelta(days=400)
    statuses = [E.RECEIVED, E.FAILED, E.PROCESSED, E.IGNORED]
    for i, status in enumerate(statuses):
        StripeEventRecord.objects.create(
            stripe_event_id=f"evt_old{i}",
            event_type="charge.succeeded",
            stripe_account_id=ACCOUNT_ID,
            created=1,
            payload={"id": f"evt_old{i}", "data": {"object": {"email": "x@example.com"}}},
            status=status,
        )
    StripeEventRecord.objects.update(received_at=old)
    for status in S.values:
        OutboxEventFactory(site=account.site, status=status, created_at=old)

    report = prune()

    kept = dict(StripeEventRecord.objects.values_list("status", "payload"))
    assert kept[E.RECEIVED]["data"] and kept[E.FAILED]["data"], "waiting payloads are kept"
    assert kept[E.PROCESSED] == {} and kept[E.IGNORED] == {}
    assert report.counts["event records compacted"] == 2
    left = set(OutboxEvent.objects.values_list("status", flat=True))
    assert left == {S.HELD, S.PENDING, S.SENDING, S.FAILED, S.DEAD}
    assert report.counts["deliveries deleted"] == 2  # delivered and skipped


def test_recent_rows_stay_and_dry_run_changes_nothing(account):
    old = timezone.now() - timedelta(days=31)
    for _i in range(3):
        OutboxEventFactory(site=account.site, status=S.DELIVERED, created_at=old)
    recent = OutboxEventFactory(site=account.site, status=S.DELIVERED)

    output = _prune("--dry-run")

    assert "3 deliveries deleted" in output and "would be changed" in output
    assert OutboxEvent.objects.count() == 4
    _prune()
    assert list(OutboxEvent.objects.values_list("pk", flat=True)) == [recent.pk]


def _trigger(days_ago: float, valid: bool = False) -> WebhookEventTrigger:
    trigger = WebhookEventTrigger.objects.create(
        remote_ip="127.0.0.1", headers={}, body='{"email": "x@example.com"}', valid=valid
    )
    WebhookEventTrigger.objects.filter(pk=trigger.pk).update(
        created=timezone.now() - timedelta(days=days_ago)
    )
    return trigger


def test_old_webhook_requests_are_deleted_in_arrival_order(account):
    for _ in range(5):
        _trigger(40)
    _trigger(40, valid=True)
    recent = [_trigger(1), _trigger(0)]

    report = prune(batch_size=2)

    assert report.counts["webhook requests deleted"] == 6
    assert sorted(WebhookEventTrigger.objects.values_list("pk", flat=True)) == [
        t.pk for t in recent
    ]


def test_prune_works_in_small_transactions(account, django_assert_max_num_queries):
    old = timezone.now() - timedelta(days=31)
    OutboxEventFactory.create_batch(7, site=account.site, status=S.DELIVERED, created_at=old)
    # Per batch of 3: one select, then the delete; 3 batches; plus each table's first
    # select and the trigger walk, with savepoints. The count does not grow with the rows
    # of other tables or with rows that stay.
    with django_assert_max_num_queries(20) as captured:
        report = prune(batch_size=3)
    assert report.counts["deliveries deleted"] == 7
    deletes = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3, "7 rows in batches of 3"


def test_prune_is_a_nightly_schedule():
    names = {item.func: item.minutes for item in queue.schedules()}
    assert names[queue.PRUNE] == 24 * 60


def test_days_must_not_be_negative():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        _prune("--days", "-1")


def test_customer_data_survives_pruning(account, deliver):
    """Pruning is about records of traffic; the ledger (what fields are made of) stays."""
    deliver(load("customer_created"), load("charge_succeeded"))
    prune(0)
    assert LedgerCustomer.objects.exists() and LedgerCharge.objects.exists()


def test_a_redelivery_after_pruning_costs_the_webhook_request_nothing_more(account, endpoint):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from .stripe_events import post

    client = Client()
    event = load("charge_succeeded")
    assert post(client, endpoint, event).json()["duplicate"] is False

    def duplicate_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert post(client, endpoint, event).json()["duplicate"] is True
        return len(captured.captured_queries)

    before = duplicate_queries()
    StripeEventRecord.objects.update(status=E.PROCESSED)
    prune(0)
    assert StripeEventRecord.objects.get().pruned_at is not None
    assert duplicate_queries() == before, "the same queries recognise a pruned id"


def test_the_nightly_task_prunes_and_reports(account):
    from bento_stripe.operations.tasks import prune as nightly

    OutboxEventFactory(
        site=account.site, status=S.DELIVERED, created_at=timezone.now() - timedelta(days=40)
    )
    counts = nightly()
    assert counts["deliveries deleted"] == 1
    assert not OutboxEvent.objects.exists()
