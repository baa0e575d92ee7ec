"""Objects the ledger cannot read: ignored with a reason, never a failed task, never a 500."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from django.test import Client

from bento_stripe.ledger.parse import UnreadableObject, item_data, subscription_data
from bento_stripe.ledger.session import LedgerSession
from bento_stripe.models import LedgerCharge, OutboxEvent, StripeEventRecord, Subscriber
from bento_stripe.processing.events import process_claimed

from .stripe_events import ACCOUNT_ID, PAYLOADS, load, post

pytestmark = pytest.mark.django_db

Status = StripeEventRecord.Status


def outcome(event_id: str) -> tuple[str, str]:
    record = StripeEventRecord.objects.get(stripe_event_id=event_id)
    return record.status, record.note


# --- the readers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"object": "charge", "amount": 100}, "the charge has no id"),
        ({"object": "dispute", "id": None, "amount": 100}, "the dispute has no id"),
        ({"object": "dispute", "id": "", "amount": 100}, "the dispute has no id"),
    ],
)
def test_an_object_without_an_id_is_unreadable(obj, message):
    session = LedgerSession(ACCOUNT_ID, False)
    reader = session.charge if obj["object"] == "charge" else session.dispute
    with pytest.raises(UnreadableObject, match=message):
        reader(obj)
    assert list(session.rows()) == []  # nothing made in memory either


@pytest.mark.parametrize("amount", ["10.00", "1000", 10.5, True])
def test_an_amount_that_is_not_an_integer_is_unreadable(amount):
    session = LedgerSession(ACCOUNT_ID, False)
    charge = load("charge_succeeded")["data"]["object"]
    charge["amount_captured"] = amount
    with pytest.raises(UnreadableObject, match="amount_captured is not an integer amount"):
        session.charge(charge)
    assert list(session.rows()) == []


def test_price_decimal_strings_are_exact_and_other_shapes_are_unreadable():
    price = {"id": "price_1", "unit_amount_decimal": "1234.5", "recurring": {"interval": "month"}}
    assert item_data({"price": price})["unit_amount"] == "1234.5"
    with pytest.raises(UnreadableObject, match="unit_amount_decimal"):
        item_data({"price": {**price, "unit_amount_decimal": "12,00"}})
    with pytest.raises(UnreadableObject, match="unit_amount is not an integer"):
        item_data({"price": {"id": "price_1", "unit_amount": "12.00"}})
    with pytest.raises(UnreadableObject, match="quantity is not an integer"):
        item_data({"price": price, "quantity": "2"})
    with pytest.raises(UnreadableObject, match="amount_off is not an integer"):
        subscription_data({"discount": {"coupon": {"amount_off": "5.00"}}})
    with pytest.raises(UnreadableObject, match="items is not a list"):
        subscription_data({"items": "si_1"})


def test_a_known_row_is_left_as_it_was(account):
    session = LedgerSession(ACCOUNT_ID, False)
    session.at(1, "evt_1")
    session.charge(load("charge_succeeded")["data"]["object"])
    session.flush()
    session = LedgerSession(ACCOUNT_ID, False)
    session.at(2, "evt_2")
    later = load("charge_refunded_partial")["data"]["object"]
    later["amount_refunded"] = "15.00"
    with pytest.raises(UnreadableObject):
        session.charge(later)
    session.flush()
    row = LedgerCharge.objects.get()
    assert (row.captured, row.refunded) == (4900, 0)


# --- through the webhook and the task ----------------------------------------------------------


def test_a_dispute_without_an_id_is_ignored_with_the_reason(account, deliver, no_lookup):
    deliver(load("customer_created"), load("charge_succeeded"))
    before = Subscriber.objects.get().fields
    dispute = load("charge_dispute_closed_lost")
    del dispute["data"]["object"]["id"]
    (response,) = deliver(dispute)
    assert response.status_code == 200
    assert outcome(dispute["id"]) == (Status.IGNORED, "unreadable: the dispute has no id")
    assert not OutboxEvent.objects.filter(stripe_event_id=dispute["id"]).exists()
    assert Subscriber.objects.get().fields == before
    assert before["lifetime_value"] == 49


def test_a_decimal_string_amount_is_ignored_and_the_batch_goes_on(account, deliver, no_lookup):
    charge = load("charge_succeeded")
    charge["data"]["object"]["amount"] = "49.00"
    charge["data"]["object"]["amount_captured"] = "49.00"
    deliver(load("customer_created"), charge, load("charge_succeeded_jpy"))
    status, note = outcome(charge["id"])
    assert status == Status.IGNORED
    assert note == "unreadable: charge.amount_captured is not an integer amount: '49.00'"
    assert outcome("evt_1TChargeSuccJpy01") == (Status.PROCESSED, "")
    fields = Subscriber.objects.get().fields
    assert (fields["lifetime_value"], fields["lifetime_value_jpy"]) == (0, 5000)
    assert not LedgerCharge.objects.filter(charge_id="ch_3TJane0001").exists()


def test_payloads_of_shapes_the_ledger_cannot_read(account, deliver, no_lookup):
    deliver(load("customer_created"), load("charge_succeeded_jpy"))
    no_id = load("charge_dispute_closed_no_id_legacy")  # disputes of 2014 had no id
    decimal = load("charge_succeeded_decimal_amount")  # "amount": "49.00"
    responses = deliver(no_id, decimal)
    assert [r.status_code for r in responses] == [200, 200]
    assert outcome(no_id["id"]) == (Status.IGNORED, "unreadable: the dispute has no id")
    assert outcome(decimal["id"]) == (
        Status.IGNORED,
        "unreadable: charge.amount_captured is not an integer amount: '49.00'",
    )
    assert not OutboxEvent.objects.filter(stripe_event_id__in=[no_id["id"], decimal["id"]])
    fields = Subscriber.objects.get().fields
    assert (fields["lifetime_value"], fields["lifetime_value_jpy"]) == (0, 5000)


def test_a_subscription_with_a_null_id_is_ignored(account, deliver, no_lookup):
    sub = load("customer_subscription_created")
    sub["data"]["object"]["id"] = None
    deliver(load("customer_created"), sub)
    assert outcome(sub["id"]) == (Status.IGNORED, "unreadable: the subscription has no id")
    assert Subscriber.objects.get().fields["mrr"] == 0


# --- mutations of the whole corpus ------------------------------------------------------------

#: Every payload file of the corpus.
CORPUS = sorted(p.stem for p in PAYLOADS.glob("*.json"))
#: How deep into ``data.object`` fields are dropped and nulled (every field of the corpus;
#: of a list, its first element only).
DEPTH = 8


def _paths(value: object, prefix: tuple = ()) -> Iterator[tuple]:
    if len(prefix) >= DEPTH:
        return
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:1]):
            yield from _paths(child, (*prefix, index))


def _parent(root: dict, path: tuple) -> dict | list:
    node = root
    for step in path[:-1]:
        node = node[step]
    return node


def _with_unknown_fields(value: object) -> object:
    if isinstance(value, dict):
        changed = {k: _with_unknown_fields(v) for k, v in value.items()}
        changed["x_unknown_field"] = {"nested": [1, "two", None]}
        return changed
    if isinstance(value, list):
        return [_with_unknown_fields(v) for v in value]
    return value


def mutations(name: str) -> Iterator[tuple[str, dict]]:
    """Variants of a payload: each field of its object dropped, then nulled; each top-level
    field given another type; unknown fields everywhere."""
    event = load(name)
    for path in _paths(event["data"]["object"]):
        for how in ("drop", "null"):
            variant = copy.deepcopy(event)
            parent = _parent(variant["data"]["object"], path)
            if how == "drop" and isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent[path[-1]] = None
            yield f"{how} {'.'.join(map(str, path))}", variant
    for key in event["data"]["object"]:  # each top-level field as a string or an object
        for odd in ("10.00", {"unexpected": ["shape"]}):
            variant = copy.deepcopy(event)
            variant["data"]["object"][key] = odd
            yield f"retype {key} as {type(odd).__name__}", variant
    variant = copy.deepcopy(event)
    variant["data"]["object"] = _with_unknown_fields(variant["data"]["object"])
    variant["x_unknown_field"] = "value"
    yield "unknown fields", variant


def _run(client: Client, endpoint, name: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for n, (label, event) in enumerate(mutations(name)):
        event["id"] = f"{event['id']}_m{n}"
        response = post(client, endpoint, event)
        if label == "retype id as dict":  # the receiver refuses it already: no usable id
            assert response.status_code == 400, (name, label, response.content)
            continue
        assert response.status_code == 200, (name, label, response.content)
        labels[event["id"]] = label
    waiting = list(StripeEventRecord.objects.filter(stripe_event_id__in=labels).order_by("pk"))
    for start in range(0, len(waiting), 100):
        process_claimed(waiting[start : start + 100])
    return labels


@pytest.mark.parametrize("name", CORPUS)
def test_no_mutation_of_the_corpus_fails_a_task(account, endpoint, no_lookup, name):
    client = Client(enforce_csrf_checks=True)
    # The person exists first, so the variants reach the ledger and the outbox.
    _run_base(client, endpoint)
    labels = _run(client, endpoint, name)
    outcomes = StripeEventRecord.objects.filter(stripe_event_id__in=labels)
    assert outcomes.count() == len(labels)
    for record in outcomes:
        label = labels[record.stripe_event_id]
        assert record.status in (Status.PROCESSED, Status.IGNORED), (
            label,
            record.status,
            record.note,
        )
        if record.status == Status.IGNORED:  # always with the reason
            assert record.note, label
    ids_dropped = [
        record
        for record in outcomes
        if labels[record.stripe_event_id] in ("drop id", "null id")
        and record.payload["data"]["object"].get("object")
        in ("charge", "customer", "dispute", "subscription")
    ]
    for record in ids_dropped:
        assert record.status == Status.IGNORED and record.note.endswith("has no id")


def _run_base(client: Client, endpoint) -> None:
    for event in (load("customer_created"), load("charge_succeeded")):
        post(client, endpoint, event)
    process_claimed(list(StripeEventRecord.objects.order_by("pk")))


def test_the_webhook_answers_400_not_500_for_a_broken_envelope(account, endpoint):
    client = Client(enforce_csrf_checks=True)
    event = load("charge_succeeded")
    statuses = set()
    for key in list(event):
        for how in ("drop", "null"):
            variant = copy.deepcopy(event)
            if how == "drop":
                del variant[key]
            else:
                variant[key] = None
            variant["id"] = variant.get("id") and f"{variant['id']}_{key}_{how}"
            statuses.add(post(client, endpoint, variant).status_code)
    assert statuses <= {200, 400}
    assert 400 in statuses  # no id, no type, no data: not a Stripe event
