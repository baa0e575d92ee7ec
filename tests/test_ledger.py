"""The ledger's pure functions: minor units, rounding, MRR, main subscription, fields."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bento_stripe.ledger.currency import exponent, major_number, round_half_up
from bento_stripe.ledger.mrr import main_subscription, subscription_mrr, to_monthly
from bento_stripe.ledger.parse import item_data, subscription_data, subscription_from_data
from bento_stripe.ledger.person import person_fields
from bento_stripe.ledger.shapes import Charge, Customer, Discount, Item, Person, Subscription


def sub(status="active", items=(), discounts=(), created=1, sid="sub_1", currency="usd"):
    return Subscription(sid, status, created, currency, tuple(items), tuple(discounts))


def item(amount, interval="month", count=1, quantity=1, label="Pro", **kw):
    return Item("price_1", label, Decimal(amount), quantity, interval, count, **kw)


@pytest.mark.parametrize(
    ("currency", "places"), [("usd", 2), ("EUR", 2), ("jpy", 0), ("KRW", 0), ("kwd", 3)]
)
def test_minor_unit_exponents(currency, places):
    assert exponent(currency) == places


@pytest.mark.parametrize(
    ("minor", "currency", "expected"),
    [
        (4900, "usd", 49),
        (12999, "usd", 129.99),
        (5000, "jpy", 5000),
        (Fraction(1, 2), "usd", 0.01),  # half a cent rounds up
        (Fraction(-1, 2), "usd", -0.01),  # and away from zero when negative
        (Fraction(98000, 12), "usd", 81.67),
        (Fraction(4999, 10), "jpy", 500),
        (1234, "kwd", 1.234),
    ],
)
def test_major_numbers_round_half_up_once(minor, currency, expected):
    value = major_number(minor, currency)
    assert value == expected and type(value) is type(expected)


@given(st.fractions(min_value=-(10**12), max_value=10**12))
def test_round_half_up_is_the_nearest_integer(value):
    rounded = round_half_up(value)
    assert abs(value - rounded) <= Fraction(1, 2)
    if abs(value - rounded) == Fraction(1, 2):
        assert abs(rounded) > abs(value)


@pytest.mark.parametrize(
    ("interval", "count", "monthly"),
    [
        ("month", 1, Fraction(1200)),
        ("month", 3, Fraction(400)),
        ("year", 1, Fraction(100)),
        ("year", 2, Fraction(50)),
        ("week", 1, Fraction(1200 * 52, 12)),
        ("week", 2, Fraction(1200 * 52, 24)),
        ("day", 1, Fraction(1200 * 365, 12)),
    ],
)
def test_intervals_normalise_to_a_month(interval, count, monthly):
    assert to_monthly(Fraction(1200), interval, count) == monthly


def test_mrr_counts_quantities_and_discounts_in_order():
    s = sub(
        items=[item(1000, quantity=3)],
        discounts=[Discount(percent_off=Decimal("25.5")), Discount(amount_off=500)],
    )
    # 3000 × 74.5 % = 2235, minus 500 = 1735 cents a month.
    assert subscription_mrr(s) == 1735


def test_amount_off_never_goes_below_zero_and_comes_off_the_period():
    yearly = sub(items=[item(12000, interval="year")], discounts=[Discount(amount_off=2400)])
    assert subscription_mrr(yearly) == 800  # (12000 − 2400) ÷ 12
    free = sub(items=[item(1000)], discounts=[Discount(amount_off=5000)])
    assert subscription_mrr(free) == 0


def test_item_discounts_apply_to_their_item():
    s = sub(items=[item(1000, discounts=(Discount(percent_off=Decimal(50)),)), item(2000)])
    assert subscription_mrr(s) == 2500


@pytest.mark.parametrize("status", ["trialing", "paused", "canceled", "incomplete", "unpaid"])
def test_only_active_and_past_due_count(status):
    assert subscription_mrr(sub(status=status, items=[item(1000)])) == 0
    assert subscription_mrr(sub(status="past_due", items=[item(1000)])) == 1000


def test_metered_and_tiered_prices_count_zero():
    assert subscription_mrr(sub(items=[item(1000, usage_based=True), item(300)])) == 300


def test_main_subscription_rules():
    cheap = sub(items=[item(100)], sid="sub_a", created=5)
    dear = sub(items=[item(900)], sid="sub_b", created=1)
    trial = sub(status="trialing", items=[item(5000)], sid="sub_c", created=9)
    old = sub(status="canceled", items=[item(9000)], sid="sub_d", created=3)
    new = sub(status="canceled", items=[item(10)], sid="sub_e", created=4)
    assert main_subscription([cheap, dear, trial, old]).id == "sub_b"
    assert main_subscription([trial, old]).id == "sub_c"  # trialing beats any ended one
    assert main_subscription([old, new]).id == "sub_e"  # none current: the newest
    tie = sub(items=[item(900)], sid="sub_f", created=2)
    assert main_subscription([dear, tie]).id == "sub_f"  # ties: the most recently created
    assert main_subscription([]) is None


def test_person_fields_currencies_and_plan():
    person = Person(
        customers=(Customer("cus_old", 1, "eur"), Customer("cus_new", 2, "usd")),
        charges=(
            Charge("ch_1", "usd", 10, captured=5000, refunded=1000),
            Charge("ch_2", "eur", 11, captured=2000, lost=2000),
            Charge("ch_3", "jpy", 12, captured=3000),
        ),
        subscriptions=(
            sub(items=[item(4900, label="Pro"), item(1000, label="Seats", quantity=2)]),
        ),
    )
    assert person_fields(person) == {
        "lifetime_value": 40,
        "lifetime_value_eur": 0,
        "lifetime_value_jpy": 3000,
        "currency": "USD",
        "mrr": 69,
        "plan": "Pro, Seats",
        "subscription_status": "active",
        "stripe_customer_id": "cus_new",
        "products": "",  # its items name no product
        "purchases": 3,
        "last_purchase_at": "1970-01-01T00:00:12Z",
    }


def test_currency_falls_back_to_the_first_captured_charge():
    person = Person(
        customers=(Customer("cus_1", 1, ""),),
        charges=(Charge("ch_2", "usd", 20, captured=100), Charge("ch_1", "jpy", 10, captured=7)),
    )
    fields = person_fields(person)
    assert (fields["currency"], fields["lifetime_value"], fields["lifetime_value_usd"]) == (
        "JPY",
        7,
        1,
    )
    assert (fields["plan"], fields["subscription_status"], fields["mrr"]) == ("", "", 0)


def test_parse_reads_prices_legacy_plans_and_coupons():
    current = {
        "items": {
            "data": [
                {
                    "quantity": 2,
                    "price": {
                        "id": "price_1",
                        "nickname": None,
                        "product": {"id": "prod_1", "name": "Team"},
                        "unit_amount": 1500,
                        "unit_amount_decimal": "1500.5",
                        "recurring": {"interval": "week", "interval_count": 2},
                    },
                    "discounts": [{"id": "di_1", "coupon": {"percent_off": 10}}],
                }
            ]
        },
        "discount": {"id": "di_2", "coupon": {"amount_off": 100, "currency": "usd"}},
        "discounts": ["di_2", "di_3"],  # ids: di_2 is the one above; di_3 kept to resolve
    }
    data = subscription_data(current)
    assert data["items"][0]["label"] == "Team"
    assert data["items"][0]["unit_amount"] == "1500.5"
    assert data["discounts"] == [
        {"percent_off": None, "amount_off": 100, "currency": "usd"},
        {"id": "di_3"},
    ]
    parsed = subscription_from_data("sub_1", "active", 1, "usd", data)
    # (1500.5 × 2 × 90 % − 100) × 52 ÷ 12 ÷ 2
    assert subscription_mrr(parsed) == (Fraction(30010, 10) * Fraction(9, 10) - 100) * 52 / 24
    legacy = item_data(
        {"plan": {"id": "plan_1", "amount": 900, "interval": "year", "nickname": "Gold"}}
    )
    assert (legacy["label"], legacy["unit_amount"], legacy["interval"]) == ("Gold", "900", "year")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["usd", "eur", "jpy"]),
            st.integers(0, 10**9),
            st.integers(0, 10**9),
        ),
        max_size=8,
    )
)
def test_lifetime_value_is_exact_per_currency(rows):
    charges = tuple(
        Charge(f"ch_{i}", ccy, i, captured=cap, refunded=min(ref, cap))
        for i, (ccy, cap, ref) in enumerate(rows)
    )
    fields = person_fields(Person(customers=(Customer("cus_1", 1, "usd"),), charges=charges))
    usd = sum(c.captured - c.refunded for c in charges if c.currency == "usd")
    assert Decimal(str(fields["lifetime_value"])) == Decimal(usd) / 100
    jpy = [c.captured - c.refunded for c in charges if c.currency == "jpy"]
    if jpy:
        assert fields["lifetime_value_jpy"] == sum(jpy)


def test_older_shapes_plan_on_the_subscription_and_currency_from_prices():
    from bento_stripe.ledger.parse import subscription_currency

    old = {
        "currency": None,
        "plan": {
            "id": "gold",
            "amount": 1500,
            "currency": "EUR",
            "name": "Gold",
            "interval": "week",
        },
        "quantity": 2,
    }
    data = subscription_data(old)
    assert [(i["label"], i["quantity"], i["currency"]) for i in data["items"]] == [
        ("Gold", 2, "eur")
    ]
    assert subscription_currency(old, data) == "eur"
    parsed = subscription_from_data("sub_1", "active", 1, "", data)
    assert parsed.currency == "eur"  # rows stored before the rule read right too
    assert subscription_mrr(parsed) == Fraction(1500 * 2 * 52, 12)
    # Items win over a subscription-level plan; a nickname or product name over the plan's name.
    both = {**old, "items": {"data": [{"plan": {**old["plan"], "nickname": "G1"}}]}}
    assert [i["label"] for i in subscription_data(both)["items"]] == ["G1"]
    named = {"price": {"id": "price_9", "name": "Legacy", "product": {"name": "Team"}}}
    assert item_data(named)["label"] == "Team"
    assert item_data({"price": {"id": "price_9"}})["label"] == "price_9"


def test_paused_collection_counts_zero_but_stays_the_main_subscription():
    paused = Subscription("sub_p", "active", 2, "usd", (item(5000),), collection_paused=True)
    assert subscription_mrr(paused) == 0
    fields = person_fields(Person(subscriptions=(paused,)))
    assert (fields["mrr"], fields["subscription_status"], fields["plan"]) == (0, "active", "Pro")
    data = subscription_data({"pause_collection": {"behavior": "void"}, "items": {"data": []}})
    assert subscription_from_data("sub_p", "active", 2, "usd", data).collection_paused
    assert not subscription_data({"pause_collection": None})["collection_paused"]


@pytest.mark.parametrize(
    ("quantity", "divide_by", "round_up", "billed"),
    [
        (25, 10, True, 3),
        (25, 10, False, 2),
        (30, 10, True, 3),
        (30, 10, False, 3),
        (1, 1, True, 1),
        (0, 5, True, 0),
        (4, 5, True, 1),
        (4, 5, False, 0),
    ],
)
def test_transform_quantity(quantity, divide_by, round_up, billed):
    it = item(1999, quantity=quantity, divide_by=divide_by, round_up=round_up)
    assert subscription_mrr(sub(items=[it])) == 1999 * billed


def test_transform_quantity_is_read_and_checked():
    price = {"id": "p", "unit_amount": 100, "transform_quantity": {"divide_by": 3, "round": "down"}}
    data = subscription_data({"items": {"data": [{"price": price, "quantity": 8}]}})
    parsed = subscription_from_data("sub_1", "active", 1, "usd", data)
    assert subscription_mrr(parsed) == 200  # 8 ÷ 3 = 2.67, rounded down: 2
    from bento_stripe.ledger.parse import UnreadableObject

    with pytest.raises(UnreadableObject, match="divide_by"):
        item_data({"price": {**price, "transform_quantity": {"divide_by": 0, "round": "up"}}})


def test_mrr_per_currency_fields_appear_with_a_subscription_in_that_currency():
    person = Person(
        customers=(Customer("cus_1", 1, "usd"),),
        subscriptions=(
            sub(items=[item(2000)], sid="sub_u"),
            sub(items=[item(1000)], sid="sub_e1", currency="eur"),
            sub(items=[item(550, quantity=2)], sid="sub_e2", currency="eur"),
            sub(status="canceled", items=[item(900)], sid="sub_k", currency="kwd"),
            sub(
                status="trialing", items=[item(12000, interval="year")], sid="sub_j", currency="jpy"
            ),
        ),
    )
    fields = person_fields(person)
    assert {k: v for k, v in fields.items() if k.startswith("mrr")} == {
        "mrr": 20,
        "mrr_eur": 21,  # 10.00 + 2 × 5.50
        "mrr_jpy": 0,  # trialing: counts 0, but the field is there
        "mrr_kwd": 0,
    }
    alone = person_fields(Person(customers=(Customer("cus_1", 1, "usd"),)))
    assert not [k for k in alone if k.startswith("mrr_")]


def test_customer_coupons_and_discount_ids_resolve_when_read():
    data = subscription_data({"items": {"data": [{"price": {"id": "p", "unit_amount": 1000}}]}})
    wide = {"discount": {"percent_off": "50", "amount_off": None, "currency": ""}}
    assert subscription_mrr(subscription_from_data("s", "active", 1, "usd", data, wide)) == 500
    with_id = {**data, "discounts": [{"id": "di_9"}]}
    known = {**wide, "known_discounts": {"di_9": {"percent_off": None, "amount_off": 300}}}
    # Its own coupon (resolved by id) wins over the customer's.
    assert subscription_mrr(subscription_from_data("s", "active", 1, "usd", with_id, known)) == 700
    # An id never seen with its coupon: its own, unknown, so neither applies.
    assert subscription_mrr(subscription_from_data("s", "active", 1, "usd", with_id, wide)) == 1000


def test_a_discount_whose_coupon_is_only_an_id_is_still_the_subscriptions_own():
    current = {"discounts": [{"id": "di_7", "source": {"coupon": "co_x", "type": "coupon"}}]}
    data = subscription_data(current)
    assert data["discounts"] == [{"id": "di_7"}]
    wide = {"discount": {"percent_off": "50", "amount_off": None, "currency": ""}}
    with_item = {**data, "items": [item_data({"price": {"id": "p", "unit_amount": 800}})]}
    # Its own (unknown) coupon keeps the customer's 50 % away.
    assert subscription_mrr(subscription_from_data("s", "active", 1, "usd", with_item, wide)) == 800
