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
        "product": draw(st.sampled_from(["prod_1", "prod_2"])),
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
def discount(draw, discount_id, currency, customer):
    """A Stripe discount object (older shape: the coupon inside) of customer ``customer``."""
    off = draw(coupon(currency))
    if off is None:
        off = {"coupon": {"id": "co_half", "percent_off": 50}}
    return {
        "id": discount_id,
        "object": "discount",
        "coupon": off["coupon"],
        "customer": f"cus_{customer}",
        "subscription": None,
    }


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
        if draw(st.booleans()):  # a customer-wide coupon on the customer object itself
            cus["discount"] = draw(discount(f"di_cus{c}", currency or "usd", c))
        customers.append((cus, currency or "usd"))
        events.append(("customer.created", dict(cus)))
    # Customer-wide coupons through customer.discount.* events (each id: one coupon).
    for k in range(draw(st.integers(0, 2))):
        c = draw(st.integers(0, n_customers - 1))
        cus, currency = customers[c]
        given = draw(discount(f"di_ev{c}_{k}", currency, c))
        events.append(("customer.discount.created", given))
        if draw(st.booleans()):
            events.append(("customer.discount.deleted", dict(given)))
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
        c = draw(st.integers(0, n_customers - 1))
        cus, default = customers[c]
        # Several currencies per person; some subscriptions say theirs only through prices.
        currency = draw(st.sampled_from([default, default, "eur", "jpy"]))
        own = None
        if draw(st.booleans()):  # the subscription's own discount, named by id only
            own = draw(discount(f"di_sub{s}", currency, c))
            events.append(("customer.discount.created", {**own, "subscription": f"sub_{s}"}))
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
                "currency": draw(st.sampled_from([currency, currency, None])),
                "status": status,
                "created": T0 - 500 + s,
                "items": {"data": items},
                "discount": None if own else draw(coupon(currency)),
                "discounts": [own["id"]] if own else [],
                "pause_collection": draw(
                    st.sampled_from([None, None, {"behavior": "void", "resumes_at": None}])
                ),
            }
            kind = "created" if step == 0 else ("deleted" if status == "canceled" else "updated")
            events.append((f"customer.subscription.{kind}", obj))
    # The catalogue: products named, renamed, deleted (a deleted one keeps its last name).
    for n in (1, 2):
        for step in range(draw(st.integers(0, 3))):
            name = draw(st.sampled_from(["Course", "Kit", "Masterclass", "Book"]))
            kind = "created" if step == 0 else draw(st.sampled_from(["updated", "deleted"]))
            events.append(
                (f"product.{kind}", {"id": f"prod_{n}", "object": "product", "name": name})
            )
    draw(st.randoms()).shuffle(events)  # the stream's own order, before timestamps
    return envelopes(events, clock)


def envelopes(events, clock):
    """Stripe event envelopes around (type, object) pairs, dated by ``clock`` in turn."""
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


def movement_sums(site) -> dict[str, Decimal]:
    """Per person, what their ``$MrrChanged`` events add up to (``mrr - previous_mrr``)."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for row in OutboxEvent.objects.filter(site=site, event_type="$MrrChanged"):
        details = row.payload["details"]
        sums[row.email] += Decimal(str(details["mrr"])) - Decimal(str(details["previous_mrr"]))
    return dict(sums)


def assert_movements_add_up(site, fields) -> None:
    """Movements are never lost nor doubled: they add up to each person's final ``mrr``."""
    sums = movement_sums(site)
    for email, person in fields.items():
        assert sums.get(email, Decimal(0)) == Decimal(str(person["mrr"])), email


@override_settings(
    BENTO_STRIPE={
        **django_settings.BENTO_STRIPE,
        "LOOKUP_EMAILS": False,
        "LOOKUP_PRODUCTS": False,
    }
)
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
        assert_movements_add_up(ordered_account.site, expected_fields)

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
        assert fields == expected_fields  # products, purchases, last_purchase_at too
        assert sums == expected_sums
        assert_movements_add_up(other.site, fields)
        for person in fields.values():  # coupons never take MRR below zero, in any currency
            assert all(v >= 0 for k, v in person.items() if k.startswith("mrr"))
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


@st.composite
def coupon_streams(draw):
    """One person's subscriptions and coupons: customer-wide ones (on the customer object and
    through customer.discount.* events), ones named by id, paused collection, currencies."""
    clock = iter(range(T0, T0 + 10_000, 3))
    currency = draw(st.sampled_from(["usd", "eur", None]))
    default = currency or "usd"
    events: list[tuple[str, dict]] = []
    cus = {
        "id": "cus_0",
        "object": "customer",
        "email": "person0@example.com",
        "currency": currency,
        "created": T0 - 1000,
        "discount": None,
    }
    events.append(("customer.created", dict(cus)))
    for k in range(draw(st.integers(0, 2))):  # the customer object's discount changes
        wide = draw(st.one_of(st.none(), discount(f"di_obj{k}", default, 0)))
        events.append(("customer.updated", {**cus, "discount": wide}))
    for k in range(draw(st.integers(1, 3))):
        given = draw(discount(f"di_ev{k}", default, 0))
        kinds = draw(st.sampled_from([["created"], ["created", "deleted"], ["created", "updated"]]))
        events.extend((f"customer.discount.{kind}", dict(given)) for kind in kinds)
    for s in range(draw(st.integers(1, 2))):
        ccy = draw(st.sampled_from([default, default, "jpy"]))
        own = None
        if draw(st.booleans()):
            own = draw(discount(f"di_sub{s}", ccy, 0))
            events.append(("customer.discount.created", {**own, "subscription": f"sub_{s}"}))
        for step in range(draw(st.integers(1, 2))):
            obj = {
                "id": f"sub_{s}",
                "object": "subscription",
                "customer": "cus_0",
                "currency": draw(st.sampled_from([ccy, None])),
                "status": draw(st.sampled_from(["active", "active", "past_due", "canceled"])),
                "created": T0 - 500 + s,
                "items": {
                    "data": [
                        {
                            "id": f"si_{s}",
                            "quantity": draw(st.integers(1, 30)),
                            "price": draw(price(ccy)),
                        }
                    ]
                },
                "discounts": [own["id"]] if own else [],
                "pause_collection": draw(st.sampled_from([None, {"behavior": "void"}])),
            }
            events.append(
                ("customer.subscription.updated" if step else "customer.subscription.created", obj)
            )
    return envelopes(events, clock)


@override_settings(
    BENTO_STRIPE={
        **django_settings.BENTO_STRIPE,
        "LOOKUP_EMAILS": False,
        "LOOKUP_PRODUCTS": False,
    }
)
class CouponProperties(TestCase):
    """Coupons, paused collection and per-currency MRR follow the newest events, in any order."""

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data(), stream=coupon_streams())
    def test_order_and_repetition_do_not_matter(self, data, stream):
        ordered = StripeAccountFactory(site=SiteFactory())
        ingest(stream, ordered, "a")
        expected, _, _, _ = final_state(ordered.site)
        mixed = list(data.draw(st.permutations(stream)))
        mixed += data.draw(st.lists(st.sampled_from(stream), max_size=4))
        other = StripeAccountFactory(
            site=SiteFactory(), stripe_user_id=ordered.stripe_user_id + "x"
        )
        ingest(mixed, other, "b", data.draw(st.sets(st.integers(0, len(mixed)))))
        fields, _, _, _ = final_state(other.site)
        assert fields == expected
        person = expected["person0@example.com"]
        assert all(v >= 0 for k, v in person.items() if k.startswith("mrr"))
