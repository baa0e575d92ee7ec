"""Backfill: a connection's Stripe history paged from a local stand-in of Stripe's lists,
applied through the unit of work, set in Bento as fields only."""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest

from bento_stripe import services
from bento_stripe.backfill import services as backfill
from bento_stripe.backfill import tasks
from bento_stripe.backfill.pages import Backoff
from bento_stripe.backfill.resources import ORDER
from bento_stripe.models import BackfillCursor, LedgerCharge, OutboxEvent, StripeAccount
from bento_stripe.processing.unit import UnitOfWork

from .backfill_helpers import apply_as_webhooks, fields, step_to, webhook_fields, wipe
from .factories import StripeAccountFactory, UserFactory
from .stripe_history import History
from .stripe_list_server import Fault

pytestmark = pytest.mark.django_db
ACCOUNT = "acct_1BackfillShop0001"
State = BackfillCursor.State


class Highest:
    """A jitter source that always draws the top of its range (the backoff's ceiling)."""

    def uniform(self, low: float, high: float) -> float:
        return high


class Sleeps:
    """A sleep that only remembers what it was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def connect(site, commit=None, *, by=None) -> StripeAccount:
    """Connect the account (its backfill runs at once when on and ``commit`` is given)."""
    call = commit or (lambda f, *a, **k: f(*a, **k))
    account, _ = call(
        services.connect_account,
        team=site.team,
        site=site,
        stripe_user_id=ACCOUNT,
        livemode=False,
        by=by,
    )
    return account


def small() -> History:
    return History(ACCOUNT, customers=60, charges=400)


def test_connecting_backfills_fields_equal_to_the_webhooks_ledger(
    pipeline, site, server, stripe_lists, commit
):
    history = small()
    expected = webhook_fields(history, site)
    assert len(expected) > 40
    lists = stripe_lists(history)
    account = connect(site, commit, by=UserFactory())
    server.wait_idle()

    progress = backfill.state(account)
    assert progress.done and progress.percent == 100
    assert [r.resource for r in progress.resources] == [
        "products",
        "prices",
        "customers",
        "charges",
        "disputes",
        "subscriptions",
        "invoices",
        "people",
    ]
    assert fields(site) == expected
    # Bento has exactly those fields, and saw nothing but /batch/subscribers.
    assert server.bento(site.bento_site_uuid).subscribers == expected
    assert {r.endpoint for r in server.requests} == {"batch/subscribers"}
    assert not server.bento(site.bento_site_uuid).events
    assert not OutboxEvent.objects.exclude(kind=OutboxEvent.Kind.SUBSCRIBER).exists()
    # Every list call was made for the account with the platform key.
    assert {r["account"] for r in lists.requests} == {ACCOUNT}
    assert all(
        r["authorization"].endswith("sk_test_platform_key_for_tests") for r in lists.requests
    )


def test_pages_limit_starting_after_expand_and_every_status(pipeline, site, stripe_lists, commit):
    history = small()
    lists = stripe_lists(history)
    account = connect(site, commit)

    charges = lists.list_requests("charges")
    assert len(charges) == 4  # 400 charges, 100 a page
    assert all(("limit", "100") in r["query"] for r in charges)
    afters = [dict(r["query"]).get("starting_after") for r in charges]
    assert afters == [None, "ch_00000300", "ch_00000200", "ch_00000100"]
    subs = lists.list_requests("subscriptions")
    assert ("status", "all") in subs[0]["query"]
    assert ("expand[0]", "data.discounts") in subs[0]["query"]
    # The coupons the expanded discounts name by id are read once each, not per subscription.
    coupons = lists.list_requests("coupons")
    assert len(coupons) == len({r["path"] for r in coupons}) <= 3
    cursor = BackfillCursor.objects.get(account=account, resource="charges")
    assert (cursor.objects_done, cursor.pages_done, cursor.state) == (400, 4, State.DONE)
    assert cursor.starting_after == "ch_00000000"
    canceled = [k for k in range(0, 60, 2) if history.subscription(k)["status"] == "canceled"]
    assert canceled
    from bento_stripe.models import LedgerSubscription

    assert LedgerSubscription.objects.filter(status="canceled").count() == len(canceled)


def test_three_429s_in_a_row_are_waited_out(pipeline, site, stripe_lists, settings):
    history = small()
    lists = stripe_lists(history)
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "BACKFILL_ON_CONNECT": False}
    account = connect(site)
    backfill.start(account, enqueue=False)
    lists.faults.extend([Fault(429), Fault(429), Fault(429, {"Stripe-Should-Retry": "true"})])
    sleeps = Sleeps()

    assert backfill.run(account, backoff=Backoff(sleep=sleeps, rng=Highest())) == "done"
    assert sleeps.waits == [1.0, 2.0, 4.0]
    assert backfill.state(account).done
    assert all(c.last_error == "" for c in BackfillCursor.objects.filter(account=account))


def test_should_retry_false_fails_the_page_and_the_sweep_resumes_it(
    pipeline, site, stripe_lists, settings, commit
):
    history = small()
    clean = _clean_fields(history, site, stripe_lists, settings, commit)
    lists = stripe_lists(history)
    account = StripeAccount.objects.get(stripe_user_id=ACCOUNT)
    backfill.start(account, enqueue=False)
    sleeps = Sleeps()

    def fault_at_third_charges_page(resource: str) -> None:
        if resource == "charges" and len(lists.list_requests("charges")) == 3:
            lists.faults.append(Fault(429, {"Stripe-Should-Retry": "false"}))

    lists.before_page = fault_at_third_charges_page
    assert backfill.run(account, backoff=Backoff(sleep=sleeps)) == "failed"
    assert sleeps.waits == []  # Stripe said not to retry
    charges = BackfillCursor.objects.get(account=account, resource="charges")
    assert charges.state == State.FAILED and charges.attempts == 1
    assert charges.pages_done == 2 and charges.starting_after == "ch_00000200"
    assert "429" in charges.last_error
    assert backfill.state(account).state == "failed"

    lists.before_page = None
    assert commit(tasks.sweep) == [account.pk]  # runs the task at once (sync)
    assert backfill.state(account).done
    assert fields(site) == clean


def test_a_worker_killed_mid_page_resumes_at_the_last_committed_page(
    pipeline, site, stripe_lists, settings, monkeypatch, commit
):
    history = small()
    clean_rows: Counter = Counter()
    clean = _clean_fields(history, site, stripe_lists, settings, commit, clean_rows)
    lists = stripe_lists(history)
    account = StripeAccount.objects.get(stripe_user_id=ACCOUNT)
    backfill.start(account, enqueue=False)
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "BACKFILL_UNIT_OBJECTS": 100}  # a page
    real = UnitOfWork.apply_snapshots
    calls = {"n": 0}

    def dies_on_the_fourth_page(self, snapshots):
        snapshots = list(snapshots)
        calls["n"] += bool(snapshots) and snapshots[0][0] == "charge"
        applied = real(self, snapshots)
        if calls["n"] == 3:  # the third charges page
            raise KeyboardInterrupt("worker killed")  # after the ledger moved, before commit
        return applied

    monkeypatch.setattr(UnitOfWork, "apply_snapshots", dies_on_the_fourth_page)
    with pytest.raises(KeyboardInterrupt):
        backfill.run(account)
    charges = BackfillCursor.objects.get(account=account, resource="charges")
    assert charges.state == State.RUNNING and charges.pages_done == 2  # the third died
    monkeypatch.setattr(UnitOfWork, "apply_snapshots", real)

    assert backfill.run(account) == "done"
    assert fields(site) == clean
    requests = [dict(r["query"]).get("starting_after") for r in lists.list_requests("charges")]
    assert requests.count(None) == 1  # restarted at its cursor, not from the first page
    # The same /batch/subscribers rows as an undisturbed run: the killed page left none.
    assert Counter(OutboxEvent.objects.values_list("email", flat=True)) == clean_rows


def test_a_worker_killed_mid_unit_reads_all_of_its_pages_again(
    pipeline, site, stripe_lists, settings, monkeypatch, commit
):
    """A unit of several pages dies whole: none of its pages counts, and the next run
    reads them all again from the cursor (the same result as an undisturbed run)."""
    history = small()
    clean_rows: Counter = Counter()
    clean = _clean_fields(history, site, stripe_lists, settings, commit, clean_rows)
    lists = stripe_lists(history)
    account = StripeAccount.objects.get(stripe_user_id=ACCOUNT)
    backfill.start(account, enqueue=False)
    real = UnitOfWork.apply_snapshots

    def dies_on_charges(self, snapshots):
        snapshots = list(snapshots)
        applied = real(self, snapshots)
        if snapshots and snapshots[0][0] == "charge":
            raise KeyboardInterrupt("worker killed")  # after the ledger moved, before commit
        return applied

    monkeypatch.setattr(UnitOfWork, "apply_snapshots", dies_on_charges)
    with pytest.raises(KeyboardInterrupt):
        backfill.run(account)
    charges = BackfillCursor.objects.get(account=account, resource="charges")
    assert (charges.pages_done, charges.starting_after, charges.objects_done) == (0, "", 0)
    assert len(lists.list_requests("charges")) == 4  # the whole list in one unit of 500
    assert not LedgerCharge.objects.exists()
    monkeypatch.setattr(UnitOfWork, "apply_snapshots", real)

    assert backfill.run(account) == "done"
    assert fields(site) == clean
    requests = [dict(r["query"]).get("starting_after") for r in lists.list_requests("charges")]
    assert requests.count(None) == 2 and len(requests) == 8
    assert Counter(OutboxEvent.objects.values_list("email", flat=True)) == clean_rows


def test_running_it_again_changes_nothing(pipeline, site, stripe_lists, server, commit):
    history = small()
    stripe_lists(history)
    account = connect(site, commit)
    before = fields(site)
    rows = OutboxEvent.objects.count()

    commit(backfill.start, account)  # sync: runs at once
    assert backfill.state(account).done
    assert BackfillCursor.objects.filter(account=account, run=2).count() == len(ORDER)
    assert fields(site) == before
    assert OutboxEvent.objects.count() == rows


def test_webhooks_during_the_backfill_give_the_same_result(pipeline, site, stripe_lists, settings):
    """Refunds and a subscription change happen at Stripe while the backfill pages, and
    their webhooks arrive then: one object the backfill reads after the change, two it
    read before. The result is that of the whole history as webhooks."""
    history = small()
    now = int(time.time()) + 3600  # they happen after the backfill reads their objects
    refunds = [e["id"] for e in history.events() if e["type"] == "charge.refunded"]
    first_page = next(i for i in refunds if int(i.split("_")[2]) >= 300)
    last_page = next(i for i in refunds if int(i.split("_")[2]) < 100)
    sub = next(e["id"] for e in history.events() if e["type"] == "customer.subscription.updated")
    chosen = {first_page, last_page, sub}
    late = {e["id"]: {**e, "created": now} for e in history.events() if e["id"] in chosen}
    early = [e for e in history.events() if e["id"] not in chosen]
    account = StripeAccountFactory(team=site.team, site=site, stripe_user_id=ACCOUNT)
    apply_as_webhooks(early + list(late.values()))
    expected = fields(site)
    wipe()

    lists = stripe_lists(history)
    for event in late.values():
        obj = event["data"]["object"]
        lists.changed[obj["id"]] = _state_before(history, obj)  # Stripe, before the change
    backfill.start(account, enqueue=False)
    apply_as_webhooks(early[:50])  # some webhooks before the backfill reads anything

    def happen(*ids: str) -> None:
        events = [late[i] for i in ids]
        for event in events:
            lists.changed.pop(event["data"]["object"]["id"])
        apply_as_webhooks(events)

    def live(step) -> None:
        if step.cursor.resource == "customers":
            happen(last_page)  # its charge is read after this
        if step.cursor.resource == "subscriptions":
            happen(first_page, sub)  # read before this

    assert backfill.run(account, on_step=live) == "done"
    assert fields(site) == expected
    assert lists.changed == {}


def _state_before(history: History, obj: dict) -> dict:
    if obj["object"] == "charge":
        plan = history._charge_plan(int(obj["id"][3:]))
        before = ([0] + plan["refunds"])[plan["refunds"].index(obj["amount_refunded"])]
        return history.charge(int(obj["id"][3:]), refunded=before)
    return history.subscription(int(obj["id"][4:]), status="incomplete", expand=True)


def test_disconnect_stops_the_backfill(pipeline, site, stripe_lists, settings, commit):
    history = small()
    lists = stripe_lists(history)
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "BACKFILL_ON_CONNECT": False}
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "BACKFILL_UNIT_OBJECTS": 100}  # a page
    account = connect(site)
    backfill.start(account, enqueue=False)

    def disconnect_mid_way(step) -> None:
        if step.cursor.resource == "charges" and step.cursor.pages_done == 1:
            commit(services.disconnect, account)

    assert backfill.run(account, on_step=disconnect_mid_way) == "stopped"
    states = {c.resource: c.state for c in BackfillCursor.objects.filter(account=account)}
    assert states == {
        "products": State.DONE,
        "prices": State.DONE,
        "customers": State.DONE,
        "charges": State.STOPPED,
        "disputes": State.STOPPED,
        "subscriptions": State.STOPPED,
        "invoices": State.STOPPED,
        "people": State.STOPPED,
    }
    assert len(lists.list_requests("charges")) == 1
    assert len(lists.list_requests("disputes")) == 0
    assert backfill.state(StripeAccount.objects.get(pk=account.pk)).state == "stopped"
    with pytest.raises(ValueError, match="not connected"):
        backfill.start(StripeAccount.objects.get(pk=account.pk))


def test_a_fields_only_unit_refuses_events():
    from bento_stripe.models import StripeEventRecord

    from .factories import StripeAccountFactory

    account = StripeAccountFactory()
    with pytest.raises(TypeError, match="sends no Bento events"):
        with UnitOfWork(account, fields_only="t") as uow:
            uow.add_events(StripeEventRecord(pk=1), None, [])  # type: ignore[arg-type]


def _clean_fields(history, site, stripe_lists, settings, commit, rows=None) -> dict:
    """The fields an undisturbed backfill of ``history`` gives; the ledger is wiped after,
    the connection stays; ``rows`` (a Counter) gets the emails of its outbox rows."""
    rows = Counter() if rows is None else rows
    stripe_lists(history)
    account = connect(site, commit)
    found = fields(site)
    assert backfill.state(account).done
    rows.clear()
    rows.update(OutboxEvent.objects.values_list("email", flat=True))
    wipe()
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "BACKFILL_ON_CONNECT": False}
    return found


FULL = os.environ.get("BACKFILL_FULL") or os.environ.get("DATABASE_URL", "").startswith("postgres")


@pytest.mark.skipif(
    not FULL, reason="full size runs in the PostgreSQL lane or with BACKFILL_FULL=1"
)
def test_full_size_account_equals_the_webhooks_ledger(
    pipeline, site, server, stripe_lists, commit, settings
):
    """2,000 customers and 10,000 charges, as the issue asks. Run in the foreground (as
    the command runs it): in django-q2's sync mode one task may not outlast its timeout,
    and a loaded machine takes longer than that for the whole account."""
    history = History(ACCOUNT, customers=2000, charges=10000)
    expected = webhook_fields(history, site)
    stripe_lists(history)
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "BACKFILL_ON_CONNECT": False}
    account = connect(site)
    backfill.start(account, enqueue=False)
    assert commit(backfill.run, account) == "done"  # deliveries queued on commit run inline
    server.wait_idle(timeout=120)
    assert backfill.state(account).done
    assert fields(site) == expected
    assert server.bento(site.bento_site_uuid).subscribers == expected
    assert {r.endpoint for r in server.requests} == {"batch/subscribers"}


def test_of_two_reads_in_one_second_the_later_wins_and_an_event_of_that_second_wins_over_both():
    from bento_stripe.ledger.versions import read_version
    from bento_stripe.models import LedgerCustomer

    from .factories import StripeAccountFactory

    assert read_version(1000.25) == (1000, "api.250000")
    assert read_version(1000.25) < read_version(1000.75) < (1000, "evt_1")
    account = StripeAccountFactory()
    customer = {"id": "cus_1", "object": "customer", "email": "old@example.com", "created": 1}
    with UnitOfWork(account, fields_only="t:1") as uow:
        uow.apply_snapshots([("customer", customer, read_version(1000.25))])
    with UnitOfWork(account, fields_only="t:2") as uow:
        moved = {**customer, "email": "new@example.com"}
        uow.apply_snapshots([("customer", moved, read_version(1000.75))])
    assert LedgerCustomer.objects.get(customer_id="cus_1").email == "new@example.com"


def test_a_fields_only_unit_sends_change_email_before_the_fields():
    from .factories import StripeAccountFactory

    account = StripeAccountFactory()
    customer = {"id": "cus_1", "object": "customer", "email": "old@example.com", "created": 1}
    with UnitOfWork(account) as uow:
        uow.apply_snapshots([("customer", customer, (10, "api"))])
    moved = {**customer, "email": "new@example.com"}
    with UnitOfWork(account, fields_only="t:1") as uow:
        uow.apply_snapshots([("customer", moved, (20, "api"))])
    rows = list(OutboxEvent.objects.order_by("pk"))
    kinds = [(r.kind, r.email) for r in rows]
    # The email change a backfill finds moves the person in Bento before their fields.
    assert kinds == [
        (OutboxEvent.Kind.COMMAND, "new@example.com"),
        (OutboxEvent.Kind.SUBSCRIBER, "new@example.com"),
    ]
    assert rows[0].payload == {
        "command": "change_email",
        "email": "old@example.com",
        "query": "new@example.com",
    }
    assert rows[0].dedupe_key == "t:1:change_email:cus_1"
    assert [c.email for c in uow.changes.field_changes] == ["new@example.com", "old@example.com"]


def test_a_charges_page_takes_a_fixed_number_of_queries(
    pipeline, site, stripe_lists, settings, django_assert_max_num_queries
):
    stripe_lists(small())
    settings.BENTO_STRIPE = {
        **settings.BENTO_STRIPE,
        "BACKFILL_ON_CONNECT": False,
        "BACKFILL_UNIT_OBJECTS": 100,  # one page per unit
    }
    account = connect(site)
    backfill.start(account, enqueue=False)
    from bento_stripe.backfill import engine

    while engine.first_open(account).resource != "charges":  # the catalogue, the customers
        engine.step(engine.first_open(account))
    cursor = engine.first_open(account)
    assert cursor.resource == "charges"
    # A hundred charges: the same few statements per table, whatever the page holds (on
    # SQLite the hundred new charges take two INSERTs: Django binds at most 999 values);
    # customers whose email is known keep their other rows unread; people's rows are
    # written in one upsert.
    with django_assert_max_num_queries(22):
        result = engine.step(cursor)
    assert result.objects == 100


def test_a_unit_applies_whole_pages_until_it_holds_enough_objects(
    pipeline, site, stripe_lists, settings, django_assert_max_num_queries
):
    """``BACKFILL_UNIT_OBJECTS`` (500 by default): pages of 100 are read until a unit holds
    that many, or the list ends, and applied in one transaction with the cursor's move."""
    lists = stripe_lists(small())
    settings.BENTO_STRIPE = {
        **settings.BENTO_STRIPE,
        "BACKFILL_ON_CONNECT": False,
        "BACKFILL_UNIT_OBJECTS": 250,
    }
    account = connect(site)
    backfill.start(account, enqueue=False)
    from bento_stripe.backfill import engine

    while engine.first_open(account).resource != "charges":
        engine.step(engine.first_open(account))
    first = engine.step(engine.first_open(account))  # 100 + 100 + 100 >= 250
    assert (first.objects, first.cursor.pages_done, first.cursor.state) == (300, 3, State.RUNNING)
    assert first.cursor.starting_after == "ch_00000100"
    second = engine.step(first.cursor)  # the last page: the list ends
    assert (second.objects, second.cursor.pages_done, second.cursor.state) == (100, 4, State.DONE)
    assert len(lists.list_requests("charges")) == 4
    assert LedgerCharge.objects.count() == 400


def test_reconnecting_starts_a_new_backfill(pipeline, site, stripe_lists, commit):
    stripe_lists(small())
    account = connect(site, commit)
    done = BackfillCursor.objects.filter(account=account, run=1, state=State.DONE)
    assert done.count() == len(ORDER)
    commit(services.disconnect, account)
    again = connect(site, commit)
    assert again.pk == account.pk
    done = BackfillCursor.objects.filter(account=account, run=2, state=State.DONE)
    assert done.count() == len(ORDER)


def test_the_demo_stripe_stand_in_lets_a_backfill_finish(stripe_settings, stripe_server):
    """``make demo`` starts a backfill on connect: its stand-in answers the lists (empty),
    so the review page shows the import done, not failed on a 404."""
    from bento_stripe.backfill import services as backfill_services
    from tests.factories import StripeAccountFactory

    account = StripeAccountFactory()
    backfill_services.start(account, enqueue=False)
    assert backfill_services.run(account) == "done"
    state = backfill_services.state(account)
    assert state.state == "done" and state.objects_done == 0


def test_a_backfill_names_plans_without_nicknames_by_their_product(
    pipeline, site, server, stripe_lists, commit
):
    """Stripe's subscription list cannot expand ``data.items.data.price.product`` (one
    level too deep): the catalogue, read first, names them."""
    history = small()
    stripe_lists(history)
    connect(site, commit)
    server.wait_idle()
    people = fields(site)
    unnamed = [
        k
        for k in range(history.customers)
        if k % 4 == 0 and history.subscription(k)["status"] in ("active", "past_due", "trialing")
    ]
    assert unnamed
    for k in unnamed:
        got = people[history.email(k)]
        assert f"Course {k % 13}" in got["plan"].split(", ")
        assert "price_" not in got["plan"] and "prod_" not in got["products"]


def test_a_backfill_that_finds_an_email_changed_moves_the_person_first(
    pipeline, site, server, stripe_lists, commit
):
    """Like a webhook: ``change_email`` for the person, then their fields on the new email."""
    history = small()
    lists = stripe_lists(history)
    account = connect(site, commit)
    server.wait_idle()
    old = history.customer(2)
    assert old["email"] in fields(site)
    lists.changed[old["id"]] = {**old, "email": "moved@example.com"}
    commit(backfill.start, account)
    server.wait_idle()
    bento = server.bento(site.bento_site_uuid)
    assert {"command": "change_email", "email": old["email"], "query": "moved@example.com"} in (
        bento.commands
    )
    assert "moved@example.com" in bento.subscribers
    moves = OutboxEvent.objects.filter(kind="command", email="moved@example.com")
    fields_row = OutboxEvent.objects.filter(kind="subscriber", email="moved@example.com").last()
    assert moves.count() == 1 and moves.get().pk < fields_row.pk


def started(site, settings, **conf) -> StripeAccount:
    """Connect the account with its backfill started and not run (``conf``: settings)."""
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "BACKFILL_ON_CONNECT": False, **conf}
    account = connect(site)
    backfill.start(account, enqueue=False)
    return account


def test_the_last_step_recomputes_each_person_once(pipeline, site, stripe_lists, settings):
    """The lists' units write the ledger only (the subscriptions' units aside: they
    recompute their people, about once each); the last step (people) recomputes every
    person of the connection once, and each person whose fields changed gets one
    ``/batch/subscribers`` row. Recomputing after every unit did it about as many times as
    a person had objects spread over units."""
    from bento_stripe.models import LedgerSubscription
    from bento_stripe.processing import unit

    history = small()
    stripe_lists(history)
    expected = webhook_fields(history, site)
    account = started(site, settings, BACKFILL_UNIT_OBJECTS=100)
    recomputed: Counter[str] = Counter()
    refresh = unit.refresh_people

    def counting(site, emails, **kwargs):
        emails = set(emails)
        recomputed.update(emails)
        return refresh(site, emails, **kwargs)

    unit.refresh_people = counting
    try:
        step_to(account, "subscriptions")
        assert LedgerCharge.objects.filter(stripe_account_id=ACCOUNT).count() == 400
        assert not recomputed and fields(site) == {}
        assert not OutboxEvent.objects.exists()
        step_to(account, "people")
        subscribed = set(LedgerSubscription.objects.values_list("email", flat=True)) - {""}
        assert subscribed and set(recomputed) == subscribed
        assert set(recomputed.values()) == {1}
        recomputed.clear()
        assert backfill.run(account) == "done"
    finally:
        unit.refresh_people = refresh
    assert fields(site) == expected
    assert set(recomputed) == set(expected) and set(recomputed.values()) == {1}
    rows = Counter(OutboxEvent.objects.filter(kind="subscriber").values_list("email", flat=True))
    assert set(rows) == set(expected) and set(rows.values()) == {1}
    people = BackfillCursor.objects.get(account=account, resource="people")
    assert (people.state, people.objects_done) == (State.DONE, len(expected))
    assert people.pages_done == -(-len(expected) // 100)


def test_a_person_whose_email_moved_away_is_recomputed_in_its_unit(
    pipeline, site, stripe_lists, settings, commit
):
    """Nobody would recompute an email that lost its ledger rows later (the last step reads
    the emails the ledger has): the unit that moved them does, and its person's fields go."""
    history = small()
    lists = stripe_lists(history)
    account = connect(site, commit)
    old = history.customer(2)
    assert old["email"] in fields(site)
    lists.changed[old["id"]] = {**old, "email": "moved@example.com"}
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "BACKFILL_ON_CONNECT": False}
    backfill.start(account, enqueue=False)
    step_to(account, "charges")  # the customers' unit moved the email
    assert old["email"] not in fields(site)
    assert "moved@example.com" not in fields(site)  # left to the last step
    assert backfill.run(account) == "done"
    assert "moved@example.com" in fields(site) and old["email"] not in fields(site)


def test_a_backfill_begun_without_the_last_step_recomputes_in_each_unit(
    pipeline, site, stripe_lists, settings
):
    """Cursors written before the last step existed (an upgrade mid-backfill) have no
    ``people`` cursor: their units recompute the people they touch, as they used to."""
    history = small()
    stripe_lists(history)
    expected = webhook_fields(history, site)
    account = started(site, settings)
    BackfillCursor.objects.filter(account=account, resource="people").delete()
    step_to(account, "disputes")
    assert fields(site)  # the customers and charges units recomputed their people
    assert backfill.run(account) == "done"
    assert fields(site) == expected


def test_subscriptions_units_recompute_their_people_for_live_mrr_moves(
    pipeline, site, stripe_lists, settings
):
    """A live event's MRR move is measured against the stored fields: once the
    subscriptions are read, every subscriber's stored MRR is current (else a renewal
    arriving before the last step would look like new MRR)."""
    from bento_stripe.models import LedgerSubscription

    history = small()
    stripe_lists(history)
    expected = webhook_fields(history, site)
    account = started(site, settings)
    step_to(account, "invoices")
    subscribed = set(LedgerSubscription.objects.values_list("email", flat=True)) - {""}
    assert subscribed and any(expected[e]["mrr"] for e in subscribed)
    stored = fields(site)
    assert {e: stored[e]["mrr"] for e in subscribed} == {e: expected[e]["mrr"] for e in subscribed}


def test_a_list_that_gave_up_leaves_the_others_people_their_fields(
    pipeline, site, stripe_lists, settings
):
    """Invoices failing for good (a token without access to them) must not keep everyone
    from their fields: the last step runs, the list stays failed, and starting the
    backfill again reads every list again."""
    history = small()
    stripe_lists(history)
    account = started(site, settings, BACKFILL_MAX_ATTEMPTS=3)
    step_to(account, "invoices")
    BackfillCursor.objects.filter(account=account, resource="invoices").update(
        state=State.FAILED, attempts=3, last_error="Stripe answered 403"
    )
    assert backfill.run(account) == "done"
    people = BackfillCursor.objects.get(account=account, resource="people")
    assert people.state == State.DONE and people.objects_done > 0
    assert len(fields(site)) == people.objects_done
    assert backfill.state(account).state == "failed"
    again = backfill.start(account, enqueue=False)
    assert {r.state for r in again.resources} == {State.PENDING}
    assert set(BackfillCursor.objects.filter(account=account).values_list("run", flat=True)) == {2}


def test_starting_resumes_a_backfill_begun_before_the_last_step(
    pipeline, site, stripe_lists, settings
):
    """Seven cursors under way (no ``people``): starting again resumes them."""
    stripe_lists(small())
    account = started(site, settings)
    BackfillCursor.objects.filter(account=account, resource="people").delete()
    step_to(account, "charges")
    from bento_stripe.backfill import engine

    engine.step(engine.first_open(account))
    charges = BackfillCursor.objects.get(account=account, resource="charges")
    assert charges.starting_after
    backfill.start(account, enqueue=False)
    again = BackfillCursor.objects.get(account=account, resource="charges")
    assert (again.run, again.starting_after) == (charges.run, charges.starting_after)
    assert not BackfillCursor.objects.filter(account=account, resource="people").exists()


@pytest.mark.postgres
def test_the_last_step_pages_in_the_same_order_as_it_merges():
    """Under a collation that orders otherwise than code points (ICU's en-US puts
    ``a_b@`` before ``a.b@``), a page cut in Python and continued in the database skipped
    the emails between the two orders."""
    from django.db import connection

    from bento_stripe.ledger.people import account_emails_after
    from bento_stripe.models import LedgerCharge, LedgerCustomer, LedgerSubscription

    with connection.cursor() as cursor:  # the test's transaction undoes it
        for model in (LedgerCustomer, LedgerCharge, LedgerSubscription):
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(
                f'ALTER TABLE {table} ALTER COLUMN email TYPE varchar(254) COLLATE "en-US-x-icu"'
            )
    account = StripeAccountFactory(stripe_user_id=ACCOUNT)
    scope = {"stripe_account_id": ACCOUNT, "livemode": account.livemode}
    LedgerCustomer.objects.create(**scope, customer_id="cus_1", email="a_b@example.com")
    LedgerCharge.objects.create(**scope, charge_id="ch_1", email="a.b@example.com")
    LedgerCharge.objects.create(**scope, charge_id="ch_2", email="a-c@example.com")
    seen, after = [], ""
    while page := account_emails_after(account, after, 1):
        seen += page
        after = page[-1]
    assert seen == sorted(["a_b@example.com", "a.b@example.com", "a-c@example.com"])
