"""PostgreSQL: the same event from 8 threads at once, and 8 charges of one person at once."""

from __future__ import annotations

import copy
import threading

import pytest
from django.db import connection
from django.test import Client
from djstripe.models import WebhookEventTrigger

from bento_stripe.models import OutboxEvent, StripeEventRecord, Subscriber

from .stripe_events import load, post

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def post_from_threads(endpoint, events):
    """POST each event from its own thread, all released at the same moment."""
    barrier = threading.Barrier(len(events))
    statuses: list[int] = []
    errors: list[BaseException] = []

    def run(event):
        try:
            barrier.wait()
            statuses.append(post(Client(), endpoint, event).status_code)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(e,)) for e in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return statuses


def test_same_event_from_8_threads_is_recorded_once(account, endpoint, sync_q, no_lookup):
    customer = load("customer_created")
    post(Client(), endpoint, customer)
    statuses = post_from_threads(endpoint, [load("charge_succeeded") for _ in range(8)])
    assert statuses == [200] * 8
    assert StripeEventRecord.objects.filter(event_type="charge.succeeded").count() == 1
    assert StripeEventRecord.objects.get(event_type="charge.succeeded").status == "processed"
    assert list(
        OutboxEvent.objects.filter(stripe_event_id="evt_1TChargeSucceeded1").values_list(
            "event_type", flat=True
        )
    ) == ["$ChargeSucceeded"]
    assert not WebhookEventTrigger.objects.exists()  # verified requests: their record only
    assert Subscriber.objects.get().fields["lifetime_value"] == 49


def test_eight_charges_of_one_person_at_once_add_up(account, endpoint, sync_q, no_lookup):
    post(Client(), endpoint, load("customer_created"))
    events = []
    for n in range(8):
        event = copy.deepcopy(load("charge_succeeded"))
        event["id"] = f"evt_1TParallelCharge{n}"
        event["data"]["object"]["id"] = f"ch_3TParallel{n}"
        event["data"]["object"]["amount"] = event["data"]["object"]["amount_captured"] = 1000 + n
        events.append(event)
    assert post_from_threads(endpoint, events) == [200] * 8
    assert set(StripeEventRecord.objects.values_list("status", flat=True)) == {"processed"}
    # 8 × 10.00 + 0.28
    assert Subscriber.objects.get().fields["lifetime_value"] == 80.28
    assert OutboxEvent.objects.filter(event_type="$ChargeSucceeded").count() == 8


def test_two_workers_racing_apply_every_event_once(settings, no_lookup):
    """Two workers claim and apply batches at once; the accounts share people on one site."""
    from bento_stripe.processing import tasks
    from bento_stripe.webhooks.views import record_once

    from .factories import StripeAccountFactory
    from .test_processing import person_events

    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "PROCESS_BATCH_SIZE": 10}
    first = StripeAccountFactory()
    second = StripeAccountFactory(site=first.site)
    for account in (first, second):
        for event in person_events(account.stripe_user_id, 0, 40):
            event["id"] += account.stripe_user_id
            record_once(event)
    barrier = threading.Barrier(2)
    done: list[int] = []
    errors: list[BaseException] = []

    def work():
        try:
            barrier.wait()
            done.append(tasks.process_waiting(linger=0.2))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sum(done) == 160 and all(done)  # both worked, nothing applied twice
    assert set(StripeEventRecord.objects.values_list("status", "attempts")) == {("processed", 1)}
    values = {s.fields["lifetime_value"] for s in Subscriber.objects.filter(site=first.site)}
    assert values == {98} and Subscriber.objects.count() == 40
    assert OutboxEvent.objects.filter(kind="event").count() == 160
