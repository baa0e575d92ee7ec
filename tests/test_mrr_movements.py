"""``$MrrChanged`` per Stripe event: several moves of one person in one batch each get
their own, chained from the field's value before the batch to its value after it
(docs/reference/events.rst)."""

from __future__ import annotations

import random

import pytest

from bento_stripe.models import (
    LedgerCustomer,
    LedgerSubscription,
    OutboxEvent,
    StripeEventRecord,
    Subscriber,
)
from bento_stripe.processing import tasks
from bento_stripe.webhooks.views import record_once

from .stripe_events import load
from .test_products import movements, price, sent, subscription

pytestmark = pytest.mark.django_db

PRO = price("price_pro", "prod_TPro0001", 4900)


@pytest.fixture
def one_batch(settings):
    """Record events, then process them as one batch (one unit of work)."""
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "PROCESS_BATCH_SIZE": 100}

    def _batch(*events: dict) -> None:
        for e in events:
            assert record_once(e)
        assert tasks.process_waiting(linger=0) == len(events)
        assert set(StripeEventRecord.objects.values_list("status", flat=True)) == {"processed"}

    return _batch


def test_two_moves_of_one_person_in_one_batch_each_send_one_in_order(account, no_lookup, one_batch):
    one_batch(
        load("customer_created"),
        subscription(1, "active", (PRO, 1), created=1_795_849_201),
        subscription(2, "active", (PRO, 3), created=1_795_849_202),
    )
    assert movements() == [
        ("evt_sub_1", "new", 0, 49),
        ("evt_sub_2", "expansion", 49, 147),
    ]
    assert Subscriber.objects.get(email="jane@example.com").fields["mrr"] == 147
    second = sent("evt_sub_2", "$MrrChanged")["details"]
    assert second["unique"] == {"key": "evt_sub_2:mrr"}
    assert (second["subscription"], second["currency"]) == ("sub_TJane0001", "USD")
    # Each move goes right after its own event's row (delivery keeps this order).
    order = [
        (r.stripe_event_id, r.event_type)
        for r in OutboxEvent.objects.filter(kind="event").order_by("pk")
    ]
    sub_1 = order.index(("evt_sub_1", "$MrrChanged"))
    assert order[sub_1 - 1][0] == "evt_sub_1"
    assert order[sub_1 + 1][0] == "evt_sub_2"
    assert order[-1] == ("evt_sub_2", "$MrrChanged")


def test_there_and_back_in_one_batch_sends_two(account, no_lookup, deliver, one_batch):
    deliver(load("customer_created"), subscription(1, "active", (PRO, 1), created=1_795_849_201))
    one_batch(
        subscription(2, "active", (PRO, 2), created=1_795_849_202),
        subscription(3, "active", (PRO, 1), created=1_795_849_203),
    )
    # The field ends where it began, yet both moves reach Bento.
    assert movements() == [
        ("evt_sub_1", "new", 0, 49),
        ("evt_sub_2", "expansion", 49, 98),
        ("evt_sub_3", "contraction", 98, 49),
    ]


def test_churn_and_reactivation_in_one_batch(account, no_lookup, deliver, one_batch):
    deliver(load("customer_created"), subscription(1, "active", (PRO, 1), created=1_795_849_201))
    one_batch(
        subscription(2, "canceled", (PRO, 1), created=1_795_849_202),
        subscription(3, "active", (PRO, 2), created=1_795_849_203),
    )
    assert movements()[1:] == [
        ("evt_sub_2", "churn", 49, 0),
        ("evt_sub_3", "reactivation", 0, 98),
    ]


def test_duplicates_and_late_events_in_a_batch_send_nothing(account, no_lookup, deliver, one_batch):
    deliver(load("customer_created"), subscription(2, "active", (PRO, 2), created=1_795_849_202))
    late = subscription(1, "active", (PRO, 5), created=1_795_849_100)
    same = subscription(3, "active", (PRO, 2), created=1_795_849_203)
    one_batch(late, same, load("customer_created") | {"id": "evt_again"})
    assert movements() == [("evt_sub_2", "new", 0, 98)]
    assert Subscriber.objects.get(email="jane@example.com").fields["mrr"] == 98


def test_a_move_in_a_batch_of_other_people_is_measured_per_person(account, no_lookup, one_batch):
    """Moves of two people interleaved in one batch chain per person."""
    events = []
    for n, email in enumerate(("ann@example.com", "bob@example.com")):
        customer = load("customer_created")
        customer.update(id=f"evt_cus_{n}")
        customer["data"]["object"].update(id=f"cus_{n}", email=email)
        events.append(customer)
    for step, (person, quantity) in enumerate([(0, 1), (1, 2), (0, 3), (1, 1)], start=1):
        sub = subscription(step, "active", (PRO, quantity), created=1_795_849_200 + step)
        sub["data"]["object"].update(id=f"sub_{person}", customer=f"cus_{person}")
        events.append(sub)
    one_batch(*events)
    assert movements() == [
        ("evt_sub_1", "new", 0, 49),
        ("evt_sub_2", "new", 0, 98),
        ("evt_sub_3", "expansion", 49, 147),
        ("evt_sub_4", "contraction", 98, 49),
    ]


def _sequences() -> list[list[tuple[str, int, int]]]:
    """Seeded random histories of one subscription: (status, quantity, created offset),
    delivered in an order that has late and repeated states."""
    found = []
    for seed in range(8):
        r = random.Random(seed)
        steps = [
            (r.choice(["active", "active", "past_due", "canceled", "trialing"]), r.randint(1, 3))
            for _ in range(r.randint(2, 6))
        ]
        offsets = [r.randint(1, 40) for _ in steps]  # not sorted: some arrive late
        found.append([(s, q, t) for (s, q), t in zip(steps, offsets, strict=True)])
    return found


@pytest.mark.parametrize("history", _sequences())
def test_a_batch_sends_the_moves_one_by_one_delivery_sends(
    account, no_lookup, deliver, one_batch, history
):
    """The oracle: the same events delivered one by one (one unit each) and in one batch
    give the same $MrrChanged, in the same order, chained from 0 to the final MRR."""
    events = [load("customer_created")] + [
        subscription(n, status, (PRO, quantity), created=1_795_849_200 + offset)
        for n, (status, quantity, offset) in enumerate(history, start=1)
    ]
    deliver(*events)
    alone = movements()
    final = Subscriber.objects.get(email="jane@example.com").fields["mrr"]
    for model in (OutboxEvent, Subscriber, StripeEventRecord, LedgerCustomer, LedgerSubscription):
        model.objects.all().delete()
    one_batch(*events)
    assert movements() == alone
    assert Subscriber.objects.get(email="jane@example.com").fields["mrr"] == final
    previous = 0
    for _, _, before, after in alone:
        assert before == previous
        previous = after
    assert previous == final
