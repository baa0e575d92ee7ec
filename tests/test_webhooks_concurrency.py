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
    assert WebhookEventTrigger.objects.filter(valid=True).count() == 9
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
