"""The processing core: the events table as a queue, batches, one unit of work, held rows,
re-routes, the queue module; with pinned query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import OrmQ

from bento_stripe import queue, services
from bento_stripe.models import OutboxEvent, Reroute, StripeAccount, StripeEventRecord, Subscriber
from bento_stripe.processing import claim, tasks
from bento_stripe.processing.events import apply
from bento_stripe.processing.unit import ENDED_BY_DISCONNECT, UnitOfWork
from bento_stripe.webhooks.views import record_once

from .factories import SiteFactory, StripeAccountFactory, TeamFactory
from .stripe_events import ACCOUNT_ID, load

pytestmark = pytest.mark.django_db

S = OutboxEvent.Status


def person_events(account_id: str, first: int, count: int, *, email: bool = True) -> list[dict]:
    """customer.created and charge.succeeded of ``count`` people (the charge names no email
    when ``email`` is off: only the customer event tells it)."""
    events = []
    for i in range(first, first + count):
        customer = load("customer_created")
        customer.update(id=f"evt_cus{i}", account=account_id)
        customer["data"]["object"].update(id=f"cus_{i}", email=f"p{i}@example.com")
        charge = load("charge_succeeded")
        charge.update(id=f"evt_ch{i}", account=account_id)
        obj = charge["data"]["object"]
        obj.update(id=f"ch_{i}", customer=f"cus_{i}", receipt_email=None)
        obj["billing_details"]["email"] = f"p{i}@example.com" if email else None
        events += [customer, charge]
    return events


def held_charge(account_id: str, i: int) -> dict:
    """A charge whose person's email no event has told yet."""
    (_, charge) = person_events(account_id, i, 1, email=False)
    return charge


def record(*events: dict) -> None:
    for event in events:
        assert record_once(event)


# --- receiving -----------------------------------------------------------------------------


def test_the_webhook_request_is_one_insert_and_no_broker_write(
    client, endpoint, account, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    from .stripe_events import post

    post(client, endpoint, load("customer_created"))  # warm caches (content types, ...)
    StripeEventRecord.objects.all().delete()
    OrmQ.objects.all().delete()
    # One round trip: the endpoint and its secret are cached in the process, the record is
    # one INSERT ... ON CONFLICT DO NOTHING (no savepoint: nothing can fail in it).
    with django_assert_max_num_queries(1) as captured:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = post(client, endpoint, load("charge_succeeded"))
    assert response.status_code == 200
    (insert,) = [q["sql"] for q in captured.captured_queries]
    assert insert.startswith("INSERT") and "stripeeventrecord" in insert
    assert "ON CONFLICT" in insert
    assert len(callbacks) == 1  # the wake-up, after commit
    assert not OrmQ.objects.exists()  # nothing reached the broker inside the request


def test_wake_ups_are_debounced_across_processes(settings, monkeypatch):
    """The interval's first wake-up is decided by a shared marker (here the database's)."""
    sent = []
    monkeypatch.setattr(queue, "enqueue", lambda func, *a, **kw: sent.append(func))
    settings.BENTO_STRIPE = {
        **settings.BENTO_STRIPE,
        "PROCESS_WAKE_INTERVAL": 60,
        "REDIS_URL": "",
    }
    from bento_stripe import wakeups

    for _ in range(5):
        queue.wake_processing()
        wakeups.forget()  # each call as from another process: the shared marker decides
    assert sent == [queue.PROCESS_EVENTS]
    queue.wake_processing(force=True)  # the sweep and a task handing over always wake
    assert sent == [queue.PROCESS_EVENTS] * 2


def _wake_as_a_web_process_during(monkeypatch, module, attr):
    """Wrap ``module.attr`` so that its first call is accompanied by a commit's wake-up
    from another process (which remembers nothing: the shared marker decides)."""
    real, calls = getattr(module, attr), []

    def wrapped(*args, **kwargs):
        if not calls:
            from bento_stripe import wakeups

            wakeups.forget()
            queue.wake_processing()
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, attr, wrapped)


@pytest.fixture
def woken(settings, monkeypatch):
    """Processing tasks queued by wake-ups (not run), with a short wake interval.

    Request it (and ``settings``) after ``no_lookup``: pytest-django restores the settings
    it changed to what they were when it first changed one."""
    sent = []
    monkeypatch.setattr(queue, "is_sync", lambda: False)
    # A worker closes stale connections between looks; the test's connection holds its
    # transaction.
    monkeypatch.setattr(tasks, "close_old_connections", lambda: None)
    monkeypatch.setattr(
        queue, "enqueue", lambda func, *a, **kw: func == queue.PROCESS_EVENTS and sent.append(func)
    )
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "PROCESS_WAKE_INTERVAL": 0.1, "REDIS_URL": ""}
    return sent


def test_a_task_that_keeps_up_holds_the_wake_up_so_commits_queue_no_second_task(
    account, no_lookup, woken, monkeypatch
):
    """On a steady stream one task serves every commit: while it looks, a commit's wake-up
    queues no task that would split the stream into smaller batches."""
    record(*person_events(ACCOUNT_ID, 0, 1))
    _wake_as_a_web_process_during(monkeypatch, tasks.time, "sleep")
    assert tasks.process_waiting(budget=5, linger=0.5) == 2
    assert woken == []


def test_a_task_that_falls_behind_lets_a_commit_wake_another(
    account, no_lookup, woken, settings, monkeypatch
):
    """Full batches mean a backlog: the task holds nothing, so a commit wakes a helper."""
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "PROCESS_BATCH_SIZE": 2}
    record(*person_events(ACCOUNT_ID, 0, 3))
    _wake_as_a_web_process_during(monkeypatch, tasks, "process_claimed")
    assert tasks.process_waiting(budget=5, linger=0) == 6
    assert woken == [queue.PROCESS_EVENTS]


def test_a_task_out_of_budget_looks_again_after_its_promise_and_hands_over(
    account, no_lookup, woken, monkeypatch
):
    """An event recorded after the task's last look inside its budget, while its held
    marker still hides wake-ups, is not left to the minute sweep: the task looks once
    more after its promise and hands over."""
    record(*person_events(ACCOUNT_ID, 0, 1))
    late = person_events(ACCOUNT_ID, 1, 1)
    clock = {"now": 1000.0}
    looks = []

    def sleep(seconds):
        if clock["now"] >= 1001.0 and late:  # past the budget: after the last look
            record(*late)
            late.clear()
        clock["now"] += seconds

    original_claim = tasks.claim.claim
    monkeypatch.setattr(
        tasks.claim, "claim", lambda *a: looks.append(clock["now"]) or original_claim(*a)
    )
    monkeypatch.setattr(tasks.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(tasks.time, "sleep", sleep)
    monkeypatch.setattr("bento_stripe.wakeups.time.monotonic", lambda: clock["now"])
    assert tasks.process_waiting(budget=1, linger=10) == 2
    assert max(looks) < 1001.0 and not late
    assert woken == [queue.PROCESS_EVENTS]  # the handover, for the late event


def test_the_linger_outlasts_the_wake_interval_by_default():
    from bento_stripe.conf import DEFAULTS

    assert DEFAULTS["PROCESS_LINGER"] > DEFAULTS["PROCESS_WAKE_INTERVAL"]


# --- batches -------------------------------------------------------------------------------


@pytest.mark.parametrize(("people", "limit"), [(1, 34), (5, 34), (50, 35)])
def test_queries_per_batch_do_not_grow_with_its_size(
    account, no_lookup, settings, people, limit, django_assert_max_num_queries
):
    """2, 10 and 100 events in one batch: the same few dozen queries (0.35 an event at 100;
    one of them reads the invoices the batch's charges may belong to)."""
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "PROCESS_BATCH_SIZE": 100}
    record(*person_events(account.stripe_user_id, 0, people))
    with django_assert_max_num_queries(limit):
        assert tasks.process_waiting(linger=0) == 2 * people
    assert Subscriber.objects.count() == people
    assert OutboxEvent.objects.filter(kind="event").count() == 2 * people
    assert set(StripeEventRecord.objects.values_list("status", flat=True)) == {"processed"}


def test_a_batch_is_one_accounts_events_oldest_first(no_lookup):
    first, second = StripeAccountFactory(), StripeAccountFactory()
    record(*person_events(second.stripe_user_id, 0, 1))
    record(*person_events(first.stripe_user_id, 1, 2))
    batch = claim.claim("worker-a", 10)
    assert {r.stripe_account_id for r in batch} == {second.stripe_user_id}
    assert [r.pk for r in batch] == sorted(r.pk for r in batch)
    # A second worker skips the account being applied and takes the next one.
    other = claim.claim("worker-b", 10)
    assert {r.stripe_account_id for r in other} == {first.stripe_user_id} and len(other) == 4
    assert claim.claim("worker-c", 10) == []


def test_a_killed_workers_claim_lapses_and_the_events_are_claimed_again(account, no_lookup):
    record(*person_events(account.stripe_user_id, 0, 1))
    assert len(claim.claim("killed", 10)) == 2  # the worker dies here, before applying
    assert claim.claim("other", 10) == []
    StripeEventRecord.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert tasks.process_waiting(linger=0) == 2
    assert Subscriber.objects.get().fields["lifetime_value"] == 49


def test_one_bad_event_in_a_batch_holds_up_none_of_the_others(account, no_lookup):
    from bento_stripe.translators import translator
    from bento_stripe.translators.registry import registry

    @translator("customer.created")
    def broken(ctx):
        if ctx.event["id"] == "evt_cus1":
            raise RuntimeError("cannot read this one")
        return ctx.default()

    try:
        record(*person_events(account.stripe_user_id, 0, 3))
        assert tasks.process_waiting(linger=0) == 5
    finally:
        registry.unregister("customer.created")
    bad = StripeEventRecord.objects.get(stripe_event_id="evt_cus1")
    assert (bad.status, bad.attempts) == ("failed", 1) and "cannot read" in bad.note
    assert bad.claimed_until > timezone.now()  # retried after a backoff, by the sweep
    assert StripeEventRecord.objects.filter(status="processed").count() == 5


# --- held rows -----------------------------------------------------------------------------


def test_held_rows_are_found_by_index_not_scanned(account, no_lookup):
    """Releasing costs the same whatever the number of the account's other held rows."""

    def queries_to_release(i: int) -> list[str]:
        record(held_charge(account.stripe_user_id, i))
        tasks.process_waiting(linger=0)
        (customer, _) = person_events(account.stripe_user_id, i, 1)
        record(customer)
        with CaptureQueriesContext(connection) as captured:
            tasks.process_waiting(linger=0)
        row = OutboxEvent.objects.get(stripe_event_id=f"evt_ch{i}")
        assert (row.status, row.email) == (S.PENDING, f"p{i}@example.com")
        return [q["sql"] for q in captured.captured_queries]

    few = queries_to_release(0)
    record(*[held_charge(account.stripe_user_id, i) for i in range(100, 400)])
    tasks.process_waiting(linger=0)
    assert OutboxEvent.objects.filter(status=S.HELD).count() == 300
    many = queries_to_release(1)
    assert len(many) == len(few)
    # The held rows are asked for by connection and the person's key only.
    (lookup,) = [sql for sql in many if 'FROM "bento_stripe_outboxevent"' in sql and "held" in sql]
    assert '"stripe_person_key" IN (' in lookup and "'cus_1'" in lookup
    assert "connection_id" in lookup and "'cus_0'" not in lookup


def test_held_rows_of_a_former_team_never_reach_it(no_lookup):
    """Team A held a charge of acct_X, disconnected; team B connected acct_X and its events
    tell the email: A's row stays ended, and nothing of B's customer reaches A's site."""
    team_a = StripeAccountFactory(stripe_user_id=ACCOUNT_ID)
    record(held_charge(ACCOUNT_ID, 0))
    tasks.process_waiting(linger=0)
    held = OutboxEvent.objects.get()
    assert (held.status, held.connection_id) == (S.HELD, team_a.pk)
    services.disconnect(team_a)
    held.refresh_from_db()
    assert (held.status, held.last_error) == (S.SKIPPED, ENDED_BY_DISCONNECT)

    site_b = SiteFactory(team=TeamFactory())
    team_b, _ = services.connect_account(
        team=site_b.team, site=site_b, stripe_user_id=ACCOUNT_ID, livemode=False
    )
    (customer, _) = person_events(ACCOUNT_ID, 0, 1)
    record(customer)
    tasks.process_waiting(linger=0)
    held.refresh_from_db()
    assert (held.status, held.email) == (S.SKIPPED, "")
    assert not OutboxEvent.objects.filter(site=team_a.site).exclude(pk=held.pk).exists()
    assert OutboxEvent.objects.filter(site=site_b, email="p0@example.com").count() == 1


def test_the_held_lookup_task_keeps_to_its_budget(account, stripe_api):
    record(*[held_charge(account.stripe_user_id, i) for i in range(3)])
    tasks.process_waiting(linger=0)
    asked = len(stripe_api.requests)
    OutboxEvent.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    assert tasks.lookup_held(budget=0) == 0
    assert len(stripe_api.requests) == asked  # no time left: nobody asked
    stripe_api.add(account.stripe_user_id, {**load("customer_created")["data"]["object"]})
    tasks.lookup_held(budget=30)
    assert len(stripe_api.requests) > asked


# --- re-routes -----------------------------------------------------------------------------


def test_a_failed_reroute_is_kept_and_run_again_by_the_sweep(
    account, no_lookup, sync_q, monkeypatch, django_capture_on_commit_callbacks
):
    record(*person_events(account.stripe_user_id, 0, 1))
    tasks.process_waiting(linger=0)
    new_site = SiteFactory(team=account.team)
    import bento_stripe.processing.reroute as reroute

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(reroute, "account_emails", broken)
    with django_capture_on_commit_callbacks(execute=True):
        services.change_site(account, new_site)  # no 500: the task failed, the row stays
    job = Reroute.objects.get()
    assert (job.finished_at, job.attempts) == (None, 1) and "went away" in job.last_error
    assert not Subscriber.objects.filter(site=new_site).exists()
    monkeypatch.undo()
    Reroute.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sweep()["reroutes"] == 1
    job.refresh_from_db()
    assert job.finished_at is not None and job.attempts == 2
    assert Subscriber.objects.get(site=new_site).fields["lifetime_value"] == 49
    sent = OutboxEvent.objects.get(kind="subscriber")
    assert (sent.site_id, sent.payload["fields"]["lifetime_value"]) == (new_site.pk, 49)
    assert tasks.sweep()["reroutes"] == 0  # finished: never again


def test_the_admin_shows_reroutes_and_why_rows_were_not_sent(admin_client, account, no_lookup):
    Reroute.objects.create(
        account=account, old_site=account.site, new_site=SiteFactory(team=account.team)
    )
    record(held_charge(account.stripe_user_id, 0))
    tasks.process_waiting(linger=0)
    services.disconnect(account)
    page = admin_client.get("/admin/bento_stripe/reroute/")
    assert page.status_code == 200 and account.display_name in page.content.decode()
    page = admin_client.get("/admin/bento_stripe/outboxevent/?status__exact=skipped")
    assert "disconnected before the email was known" in page.content.decode()


def test_a_reroute_recomputes_people_the_old_site_shares_with_another_account(
    no_lookup, sync_q, django_capture_on_commit_callbacks
):
    moving = StripeAccountFactory()
    old_site = moving.site
    staying = StripeAccountFactory(site=old_site)
    new_site = SiteFactory(team=moving.team)
    # p0 paid through both accounts (49 + 49); p1 only through the moving one.
    record(*person_events(moving.stripe_user_id, 0, 2))
    shared = person_events(staying.stripe_user_id, 0, 1)
    for event in shared:
        event["id"] += "-staying"
    record(*shared)
    tasks.process_waiting(linger=0)
    assert (
        Subscriber.objects.get(site=old_site, email="p0@example.com").fields["lifetime_value"] == 98
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.change_site(moving, new_site)
    old = {s.email: s.fields["lifetime_value"] for s in Subscriber.objects.filter(site=old_site)}
    new = {s.email: s.fields["lifetime_value"] for s in Subscriber.objects.filter(site=new_site)}
    assert new == {"p0@example.com": 49, "p1@example.com": 49}
    # p0 still buys through the staying account: recomputed over it; p1 is left as it was.
    assert old == {"p0@example.com": 49, "p1@example.com": 49}
    sent = {
        (row.site_id, row.email, row.payload["fields"]["lifetime_value"])
        for row in OutboxEvent.objects.filter(kind="subscriber")
    }
    assert sent == {
        (new_site.pk, "p0@example.com", 49),
        (new_site.pk, "p1@example.com", 49),
        (old_site.pk, "p0@example.com", 49),
    }


# --- the unit of work ----------------------------------------------------------------------


def test_the_unit_announces_once_after_commit_and_nothing_on_rollback(
    account, no_lookup, monkeypatch, settings, django_capture_on_commit_callbacks
):
    drained = []
    monkeypatch.setattr(queue, "defer_drains", lambda rows: drained.append(set(rows)))
    record(*person_events(account.stripe_user_id, 0, 1))
    with django_capture_on_commit_callbacks(execute=True):
        tasks.process_waiting(linger=0)
    assert drained == [{account.site_id}]
    with pytest.raises(RuntimeError), django_capture_on_commit_callbacks(execute=True):
        with UnitOfWork(account) as uow:
            uow.recompute(uow.site, ["p0@example.com"], send="manual")
            raise RuntimeError("rolled back")
    assert drained == [{account.site_id}]
    assert not OutboxEvent.objects.filter(kind="subscriber").exists()


def test_events_of_a_disconnected_account_are_ignored_with_the_reason(account, no_lookup):
    record(*person_events(account.stripe_user_id, 0, 1))
    StripeAccount.objects.filter(pk=account.pk).update(status=StripeAccount.Status.DISCONNECTED)
    assert apply(list(StripeEventRecord.objects.order_by("pk"))) == 2
    assert set(StripeEventRecord.objects.values_list("status", "note")) == {
        ("ignored", "the account is disconnected or deauthorized")
    }
    assert not OutboxEvent.objects.exists()


# --- waking delivery -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_processing_task_wakes_a_delivery_loop_and_does_not_wait_for_it(
    no_lookup, settings, monkeypatch
):
    """Outbox rows committed by processing wake one delivery loop (which decides, from the
    outbox, when they go); the processing task keeps nothing gathering in its memory."""
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "DELIVERY_WAKE_INTERVAL": 60, "REDIS_URL": ""}
    enqueued: list[str] = []
    monkeypatch.setattr(queue, "is_sync", lambda: False)
    monkeypatch.setattr(queue, "enqueue", lambda func, *a, **kw: enqueued.append(func))
    accounts = [StripeAccountFactory(), StripeAccountFactory()]
    for i, account in enumerate(accounts):
        record(*person_events(account.stripe_user_id, 2 * i, 2))
    assert tasks.process_waiting(linger=0) == 8
    assert OutboxEvent.objects.values("site_id").distinct().count() == 2
    # Two commits, one wake-up of delivery within the interval.
    assert [f for f in enqueued if f != queue.PROCESS_EVENTS] == [queue.DELIVER]


def test_an_email_change_later_in_a_batch_moves_the_batchs_earlier_events_too(account, no_lookup):
    """Found by ``make chaos``: a charge applied before its customer's email change in the
    same batch went to the old email after the ``change_email`` command, so Bento got the
    old person back."""
    customer, charge = person_events(account.stripe_user_id, 0, 1, email=False)
    updated = load("customer_created")
    updated.update(id="evt_cus0_moved", type="customer.updated", account=account.stripe_user_id)
    updated["created"] = customer["created"] + 10
    updated["data"]["object"].update(id="cus_0", email="moved@example.com")
    updated["data"]["previous_attributes"] = {"email": "p0@example.com"}
    record(customer, charge, updated)
    apply(list(StripeEventRecord.objects.order_by("pk")))
    rows = list(OutboxEvent.objects.order_by("pk").values_list("event_type", "email"))
    command = rows.index(("change_email", "moved@example.com"))
    # Nothing goes to the old email after the command that moves the person.
    assert all(email != "p0@example.com" for _, email in rows[command + 1 :])
    assert ("$ChargeSucceeded", "moved@example.com") in rows
    assert set(Subscriber.objects.values_list("email", flat=True)) == {"moved@example.com"}


def test_failed_events_back_off_with_the_apps_rule_never_sooner_than_five_seconds():
    from bento_stripe.processing.claim import retry_delay

    class Lowest:
        def uniform(self, a, b):
            return a

    class Highest:
        def uniform(self, a, b):
            return b

    assert [retry_delay(n, Lowest()) for n in (1, 5, 30)] == [5.0, 5.0, 5.0]
    assert [retry_delay(n, Highest()) for n in (1, 2, 3, 30)] == [5.0, 10.0, 20.0, 3600.0]
