"""Property: any order, repetition and batching of a stream gives the same fields and value sums."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.conf import settings as django_settings
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from bento_stripe.ledger.currency import exponent
from bento_stripe.models import OutboxEvent, StripeEventRecord, Subscriber
from bento_stripe.processing.events import apply

from .factories import SiteFactory, StripeAccountFactory

T0 = 1_795_852_800
CURRENCIES = ["usd", "eur", "jpy"]


@st.composite
def price(draw, currency):
    amount = draw(st.integers(1, 50_000))
    return {
        "id": f"price_{draw(st.integers(1, 6))}",
        "nickname": draw(st.sampled_from([None, "Basic", "Pro", "Team"])),
        "product": "prod_1",
        "unit_amount": amount,
        "unit_amount_decimal": str(amount),
        "currency": currency,
        "billing_scheme": "per_unit",
        "recurring": {
            "interval": draw(st.sampled_from(["day", "week", "month", "year"])),
            "interval_count": draw(st.integers(1, 3)),
            "usage_type": draw(st.sampled_from(["licensed", "licensed", "metered"])),
        },
    }


@st.composite
def coupon(draw, currency):
    kind = draw(st.sampled_from(["none", "percent", "amount"]))
    if kind == "none":
        return None
    if kind == "percent":
        off = {"percent_off": draw(st.sampled_from([10, 25.5, 50, 100]))}
    else:
        off = {"amount_off": draw(st.integers(1, 20_000)), "currency": currency}
    return {"id": f"di_{draw(st.integers(1, 9))}", "coupon": {"id": "co_1", **off}}


@st.composite
def streams(draw):
    """Events of several customers: charges, refunds, disputes, subscriptions, ordered by time."""
    clock = iter(range(T0, T0 + 10_000, draw(st.sampled_from([1, 7]))))
    events: list[tuple[str, dict]] = []
    n_customers = draw(st.integers(1, 3))
    customers = []
    for c in range(n_customers):
        currency = draw(st.sampled_from(CURRENCIES + [None]))
        cus = {
            "id": f"cus_{c}",
            "object": "customer",
            "email": f"person{c}@example.com",
            "name": f"Person {c}",
            "currency": currency,
            "created": T0 - 1000 + c,
        }
        customers.append((cus, currency or "usd"))
        events.append(("customer.created", dict(cus)))
    for k in range(draw(st.integers(0, 4))):
        cus, default = customers[draw(st.integers(0, n_customers - 1))]
        currency = draw(st.sampled_from([default, default, "eur", "jpy"]))
        amount = draw(st.integers(50, 100_000))
        charge = {
            "id": f"ch_{k}",
            "object": "charge",
            "customer": cus["id"],
            "currency": currency,
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": 0,
            "captured": True,
            "status": "succeeded",
            "created": T0 + k,
            "billing_details": {"email": None},
            "receipt_email": None,
        }
        events.append(("charge.succeeded", dict(charge)))
        refunded = 0
        for _ in range(draw(st.integers(0, 2))):
            refunded = draw(st.integers(refunded + 1, amount)) if refunded < amount else amount
            events.append(("charge.refunded", {**charge, "amount_refunded": refunded}))
        if draw(st.booleans()):
            dispute = {
                "id": f"dp_{k}",
                "object": "dispute",
                "charge": charge["id"],
                "amount": amount - refunded,
                "currency": currency,
            }
            events.append(("charge.dispute.created", {**dispute, "status": "needs_response"}))
            outcome = draw(st.sampled_from(["lost", "won"]))
            events.append(("charge.dispute.closed", {**dispute, "status": outcome}))
    for s in range(draw(st.integers(0, 2))):
        cus, currency = customers[draw(st.integers(0, n_customers - 1))]
        for step in range(draw(st.integers(1, 3))):
            status = draw(
                st.sampled_from(["active", "active", "past_due", "trialing", "paused", "canceled"])
            )
            items = [
                {
                    "id": f"si_{s}_{i}",
                    "quantity": draw(st.integers(1, 5)),
                    "price": draw(price(currency)),
                }
                for i in range(draw(st.integers(1, 2)))
            ]
            obj = {
                "id": f"sub_{s}",
                "object": "subscription",
                "customer": cus["id"],
                "currency": currency,
                "status": status,
                "created": T0 - 500 + s,
                "items": {"data": items},
                "discount": draw(coupon(currency)),
            }
            kind = "created" if step == 0 else ("deleted" if status == "canceled" else "updated")
            events.append((f"customer.subscription.{kind}", obj))
    draw(st.randoms()).shuffle(events)  # the stream's own order, before timestamps
    return [
        {
            "id": f"evt_{i:03d}",
            "object": "event",
            "type": event_type,
            "created": next(clock),
            "livemode": False,
            "data": {"object": obj},
        }
        for i, (event_type, obj) in enumerate(events)
    ]


def ingest(events, account, prefix, cuts=None):
    """Record each event like the webhook does (duplicates dropped) and apply them in
    batches like a worker does: a batch ends after each position in ``cuts`` (after every
    event when ``cuts`` is None)."""
    batch: list[StripeEventRecord] = []
    for position, event in enumerate(events):
        event = {**event, "id": prefix + event["id"], "account": account.stripe_user_id}
        record, created = StripeEventRecord.objects.get_or_create(
            stripe_event_id=event["id"],
            defaults={
                "event_type": event["type"],
                "stripe_account_id": account.stripe_user_id,
                "created": event["created"],
                "payload": event,
            },
        )
        if created:
            batch.append(record)
        if batch and (cuts is None or position in cuts):
            apply(batch)
            batch = []
    if batch:
        apply(batch)


def final_state(site):
    fields = {s.email: s.fields for s in Subscriber.objects.filter(site=site)}
    sums: dict[str, int] = defaultdict(int)
    keys: list[str] = []
    for row in OutboxEvent.objects.filter(site=site, kind="event"):
        details = row.payload["details"]
        if "value" in details:
            key = details["unique"]["key"]
            keys.append(key)
            object_part = key.split(":")[0]
            sums[f"{object_part}/{details['value']['currency']}"] += details["value"]["amount"]
    held = OutboxEvent.objects.filter(site=site, status=OutboxEvent.Status.HELD).count()
    return fields, dict(sums), keys, held


@override_settings(BENTO_STRIPE={**django_settings.BENTO_STRIPE, "LOOKUP_EMAILS": False})
class StreamProperties(TestCase):
    """The ordered stream against every permutation with duplicates."""

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data(), stream=streams())
    def test_order_and_repetition_do_not_matter(self, data, stream):
        ordered_account = StripeAccountFactory(site=SiteFactory())
        ingest(stream, ordered_account, "a")
        expected_fields, expected_sums, keys, held = final_state(ordered_account.site)
        assert held == 0
        assert len(keys) == len(set(keys))  # a value key is announced at most once

        shuffled = data.draw(st.permutations(stream))
        repeats = data.draw(st.lists(st.sampled_from(stream), max_size=len(stream)))
        positions = data.draw(
            st.lists(st.integers(0, len(stream)), min_size=len(repeats), max_size=len(repeats))
        )
        mixed = list(shuffled)
        for event, at in zip(repeats, positions, strict=True):
            mixed.insert(at, event)
        other = StripeAccountFactory(
            site=SiteFactory(), stripe_user_id=ordered_account.stripe_user_id + "x"
        )
        # Any batch boundaries: a worker claims whatever is waiting when it looks.
        cuts = data.draw(st.sets(st.integers(0, max(0, len(mixed) - 1))))
        ingest(mixed, other, "b", cuts)
        fields, sums, keys, held = final_state(other.site)
        assert held == 0
        assert len(keys) == len(set(keys))
        assert fields == expected_fields
        assert sums == expected_sums
        # The value events add up, per currency, to the people's lifetime values.
        assert currency_totals(sums) == ledger_totals(fields)


def currency_totals(sums):
    totals: dict[str, int] = defaultdict(int)
    for key, amount in sums.items():
        totals[key.split("/")[1].lower()] += amount
    return {k: v for k, v in totals.items() if v}


def ledger_totals(fields):
    totals: dict[str, int] = defaultdict(int)
    for person in fields.values():
        for name, value in person.items():
            if name == "lifetime_value" and person["currency"]:
                code = person["currency"].lower()
            elif name.startswith("lifetime_value_"):
                code = name.removeprefix("lifetime_value_")
            else:
                continue
            totals[code] += int(Decimal(str(value)).scaleb(exponent(code)))
    return {k: v for k, v in totals.items() if v}
