"""The chaos harness's own parts: the independent model, the checks, the Bento limit.

``make chaos`` is only as good as its model and its checks, so both are tested here on
small hand-made workloads whose expected fields are worked out by hand from the documented
rules, and the checks must catch a lost, a doubled and a wrong event.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from decimal import Decimal

import pytest

from chaos import checks, model, workload
from chaos.bento_standin import LIMIT_PER_MINUTE, ChaosBento
from chaos.sender import schedule
from chaos.workload import Event

A0, A1 = workload.account_id(0), workload.account_id(1)  # both routed to site 0
T = 1_790_000_000


def ev(n: int, type_: str, obj: dict, account: str = A0, **kw) -> Event:
    return Event(f"evt_t{n:03d}", type_, account, T + n * 100, obj, **kw)


def customer(cid: str, email: str | None, ccy: str = "usd", created: int = T) -> dict:
    return {"id": cid, "object": "customer", "email": email, "currency": ccy, "created": created}


def charge(chid: str, cid: str, amount: int, ccy: str = "usd", refunded: int = 0) -> dict:
    return {
        "id": chid,
        "object": "charge",
        "customer": cid,
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": refunded,
        "captured": True,
        "currency": ccy,
    }


def sub(sid: str, cid: str, status: str, unit: int, qty: int = 1, **kw) -> dict:
    interval = kw.pop("interval", "month")
    body = {
        "id": sid,
        "object": "subscription",
        "customer": cid,
        "status": status,
        "currency": kw.pop("ccy", "usd"),
        "created": kw.pop("created", T),
        "pause_collection": kw.pop("pause", None),
        "items": {
            "data": [
                {
                    "quantity": qty,
                    "price": {
                        "nickname": kw.pop("nickname", "Pro"),
                        "unit_amount": unit,
                        "recurring": {"interval": interval, "interval_count": 1},
                    },
                }
            ]
        },
    }
    return body


def test_fields_follow_readme_rules_whatever_the_order():
    events = [
        ev(1, "customer.created", customer("cus_a", "jane@example.com", "usd", T)),
        ev(2, "charge.succeeded", charge("ch_1", "cus_a", 4999)),
        ev(3, "charge.refunded", charge("ch_1", "cus_a", 4999, refunded=1000)),
        ev(4, "charge.refunded", charge("ch_1", "cus_a", 4999, refunded=1500)),
        ev(5, "charge.succeeded", charge("ch_2", "cus_a", 2000)),
        ev(
            6,
            "charge.dispute.closed",
            {
                "id": "dp_1",
                "object": "dispute",
                "charge": "ch_2",
                "amount": 2000,
                "currency": "usd",
                "status": "lost",
            },
        ),
        ev(
            7,
            "customer.subscription.created",
            sub("sub_y", "cus_a", "trialing", 10000, interval="year"),
        ),
        ev(
            8,
            "customer.subscription.updated",
            sub("sub_y", "cus_a", "active", 10000, interval="year"),
        ),
        ev(
            9,
            "customer.subscription.created",
            sub("sub_m", "cus_a", "active", 2900, 2, nickname="Team", created=T + 5),
        ),
        ev(
            10,
            "customer.subscription.updated",
            sub(
                "sub_m",
                "cus_a",
                "active",
                2900,
                2,
                nickname="Team",
                created=T + 5,
                pause={"behavior": "void"},
            ),
        ),
        # The same email at another account of the same site, newer, in EUR.
        ev(
            11, "customer.created", customer("cus_b", "jane@example.com", "eur", T + 50), account=A1
        ),
        ev(12, "charge.succeeded", charge("ch_3", "cus_b", 1234, "eur"), account=A1),
    ]
    ids = {e.id for e in events}
    for order in (events, list(reversed(events))):
        want = model.expect(order, ids, ids)
        fields = want.fields[0]["jane@example.com"]
        assert fields == {
            "lifetime_value": Decimal("12.34"),
            "currency": "EUR",
            "mrr": Decimal("0.00"),
            "plan": "Pro",  # the yearly one: 10000/12 beats the paused monthly one (0)
            "subscription_status": "active",
            "stripe_customer_id": "cus_b",
            # 4999 - 1500 + 2000 - 2000 lost
            "lifetime_value_usd": Decimal("34.99"),
            "mrr_usd": Decimal("8.33"),  # 10000 / 12 = 833.33 cents, half-up once
            "products": "",  # its prices name no product
            "purchases": 3,  # ch_1, ch_2 (refunded and disputed ones count), ch_3
            "last_purchase_at": "",  # the charges carry no created time
        }
        assert want.values == {
            "ch_1": ("USD", 3499),
            "ch_2": ("USD", 2000),
            "dp_1": ("USD", -2000),
            "ch_3": ("EUR", 1234),
        }
        assert want.events["evt_t006"] == (0, "$ChargeDisputeClosed")


def test_zero_decimal_and_half_up_rounding():
    assert model.major(Fraction_(1000, 12), "jpy") == Decimal("83")
    assert model.major(Fraction_(1, 2), "usd") == Decimal("0.01")
    assert model.major(-2000, "usd") == Decimal("-20.00")
    assert (
        model.bento_type("customer.subscription.trial_will_end")
        == "$CustomerSubscriptionTrialWillEnd"
    )


def Fraction_(a, b):  # noqa: N802 - a short local helper
    from fractions import Fraction

    return Fraction(a, b)


def test_email_change_noise_no_email_and_disconnect():
    d = workload.account_id(workload.DISCONNECTED)
    events = [
        ev(1, "customer.created", customer("cus_a", "old@example.com")),
        ev(
            2,
            "customer.updated",
            customer("cus_a", "new@example.com"),
            previous={"email": "old@example.com"},
        ),
        ev(3, "customer.created", customer("cus_n", None)),
        ev(4, "charge.succeeded", charge("ch_n", "cus_n", 500)),
        ev(5, "payout.paid", {"id": "po_1", "object": "payout"}, noise="type"),
        ev(6, "customer.created", customer("cus_d", "d@example.com"), account=d),
        ev(7, "charge.succeeded", charge("ch_d", "cus_d", 700), account=d),
    ]
    want = model.expect(events, set(), {"evt_t006"})
    assert "new@example.com" in want.fields[0] and "old@example.com" in want.absent[0]
    assert want.never["evt_t003"].startswith("held") and want.never["evt_t004"].startswith("held")
    assert want.never["evt_t005"].startswith("ignored")
    assert want.never["evt_t007"] == "after the disconnect"
    site = workload.ACCOUNT_SITES[workload.DISCONNECTED]
    assert want.fields[site]["d@example.com"]["lifetime_value"] == Decimal("0.00")
    assert "ch_d" not in want.values


def test_workload_is_seeded_and_complete():
    one, two = workload.build(5, 3000, end=T), workload.build(5, 3000, end=T)
    assert [e.body() for e in one.events] == [e.body() for e in two.events]
    types = {e.type for e in one.events}
    for needed in (
        "charge.refunded",
        "charge.failed",
        "charge.dispute.closed",
        "customer.subscription.paused",
        "customer.subscription.deleted",
        "customer.updated",
        "invoice.payment_failed",
    ):
        assert needed in types
    assert {e.obj.get("currency") for e in one.events if e.type == "charge.succeeded"} >= {
        "usd",
        "eur",
        "jpy",
    }
    plan = schedule(one.events, 60, 5)
    counts: dict[int, int] = {}
    for _, i in plan:
        counts[i] = counts.get(i, 0) + 1
    assert set(counts.values()) == {1, 2, 3} and len(counts) == len(one.events)


@pytest.fixture
def bento():
    server = ChaosBento({"site-uuid": ("pk", "sk")}).start()
    yield server
    server.stop()


def post(server: ChaosBento, endpoint: str, body: dict) -> int:
    request = urllib.request.Request(
        f"{server.url}/{endpoint}?site_uuid=site-uuid",
        data=json.dumps(body).encode(),
        headers={
            "Authorization": "Basic " + base64.b64encode(b"pk:sk").decode(),
            "User-Agent": "bento-stripe/test",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - local
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def bento_event(event_id: str, type_: str, value=None, key=None, email="a@example.com") -> dict:
    details: dict = {"stripe_event_id": event_id}
    if value is not None:
        details["value"] = {"currency": "USD", "amount": value}
        details["unique"] = {"key": key}
    return {"type": type_, "email": email, "fields": {"lifetime_value": 10.0}, "details": details}


def test_bento_standin_answers_429_over_the_limit(bento):
    statuses = [
        post(bento, "batch/events", {"events": [bento_event("evt_1", "$X")]})
        for _ in range(LIMIT_PER_MINUTE + 1)
    ]
    assert statuses[:-1] == [200] * LIMIT_PER_MINUTE and statuses[-1] == 429
    assert (
        bento.breaches == 1 and bento.max_per_minute("site-uuid", "batch") == LIMIT_PER_MINUTE + 1
    )


def test_checks_catch_lost_doubled_and_wrong(bento):
    expected = model.Expected(
        fields={0: {"a@example.com": {"lifetime_value": Decimal("10.00")}}},
        optional={},
        absent={0: {"gone@example.com"}},
        events={
            "evt_1": (0, "$ChargeSucceeded"),
            "evt_2": (0, "$ChargeRefunded"),
            "evt_3": (0, "$CustomerCreated"),
        },
        maybe=set(),
        never={"evt_9": "ignored (type)"},
        values={"ch_1": ("USD", 1000)},
        keys={"ch_1", "ch_1:refunded:500"},
        person_events={},
    )
    accepted = {"evt_1", "evt_2", "evt_3", "evt_9"}

    def run():
        return checks.check(expected, bento, ["site-uuid"], accepted, {}, set())

    post(
        bento,
        "batch/events",
        {
            "events": [
                bento_event("evt_1", "$ChargeSucceeded", 1000, "ch_1"),
                bento_event("evt_3", "$CustomerCreated"),
            ]
        },
    )
    found = run()
    assert (
        found.lost == ["evt_2: no Bento event"] and not found.duplicates and not found.wrong_values
    )
    post(
        bento,
        "batch/events",
        {"events": [bento_event("evt_2", "$ChargeRefunded", -500, "ch_1:refunded:500")]},
    )
    found = run()
    assert not found.lost and found.wrong_values == [
        "ch_1: Bento counts ('USD', 500), the model ('USD', 1000)"
    ]
    # A resend under the same key is counted, not doubled; a second type is a duplicate.
    post(
        bento,
        "batch/events",
        {
            "events": [
                bento_event("evt_1", "$ChargeSucceeded", 1000, "ch_1"),
                bento_event("evt_3", "$CustomerUpdated"),
            ]
        },
    )
    found = run()
    assert found.resent_value_keys == 1 and found.duplicates == [
        "evt_3: [(0, '$CustomerCreated'), (0, '$CustomerUpdated')]"
    ]
    post(
        bento,
        "batch/events",
        {"events": [bento_event("evt_9", "$PayoutPaid", email="gone@example.com")]},
    )
    found = run()
    assert found.forwarded_ignored and found.ghosts == [(0, "gone@example.com")]
    assert not found.ok


def test_checks_fail_mrr_moves_that_do_not_chain_to_the_models_mrr(bento):
    people = {"a": Decimal(98), "b": Decimal(49), "c": Decimal(49), "d": Decimal(10)}
    expected = model.Expected(
        fields={0: {f"{p}@example.com": {"mrr": mrr} for p, mrr in people.items()}},
        optional={},
        absent={},
        events={f"evt_{n}": (0, "$CustomerSubscriptionUpdated") for n in range(1, 6)},
        maybe=set(),
        never={},
        values={},
        keys=set(),
        person_events={},
        unchained={"c@example.com"},
    )

    def moved(event_id: str, person: str, kind: str, previous: int, mrr: int) -> dict:
        details = {
            "stripe_event_id": event_id,
            "movement": kind,
            "previous_mrr": previous,
            "mrr": mrr,
            "unique": {"key": f"{event_id}:mrr"},
        }
        return {"type": "$MrrChanged", "email": f"{person}@example.com", "details": details}

    post(
        bento,
        "batch/events",
        {
            "events": [
                moved("evt_1", "a", "new", 0, 49),
                moved("evt_2", "a", "expansion", 49, 98),  # chains: 0 -> 49 -> 98
                moved("evt_3", "b", "new", 0, 49),
                moved("evt_4", "b", "contraction", 98, 49),  # starts where nothing ended
                moved("evt_5", "c", "churn", 49, 0),  # c's fields moved with its email
            ]
        },
    )
    found = checks.check(expected, bento, ["site-uuid"], set(expected.events), {}, set())
    assert found.movements == 5 and not found.wrong_events
    assert found.broken_chains == [
        "d@example.com on site 0: MRR 10, no $MrrChanged",
        "b@example.com on site 0: moves 0 -> 49, 98 -> 49, the model 49",
    ]
    assert found.failures()["mrr_moves"] == 2 and not found.ok
    assert found.movement_sums_apart == 2  # b's and c's sums (c only counted)
