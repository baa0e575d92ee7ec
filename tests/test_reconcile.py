"""Reconciliation and the two commands: Stripe's events list heals missed webhooks; fields only."""

from __future__ import annotations

import io
import time

import pytest
from django.core.management import CommandError, call_command
from django_q.models import Schedule

from bento_stripe import queue
from bento_stripe.backfill import services as backfill
from bento_stripe.backfill.reconcile import reconcile
from bento_stripe.models import BackfillCursor, OutboxEvent, StripeAccount

from .backfill_helpers import apply_as_webhooks, fields
from .stripe_history import History
from .test_backfill import ACCOUNT, connect

pytestmark = pytest.mark.django_db


def missed(history: History) -> list[dict]:
    """Two changes at Stripe whose webhooks never arrived: a refund and a cancellation."""
    now = int(time.time())
    refund = next(
        e
        for e in history.events()
        if e["type"] == "charge.succeeded" and e["data"]["object"]["customer"]
    )
    charge = dict(refund["data"]["object"])
    charge["amount_refunded"] = charge["amount"]
    charge["refunded"] = True
    sub = history.subscription(0, status="canceled")
    return [
        {
            **refund,
            "id": "evt_missed_refund",
            "type": "charge.refunded",
            "created": now,
            "data": {"object": charge, "previous_attributes": {}},
        },
        {
            **refund,
            "id": "evt_missed_cancel",
            "type": "customer.subscription.deleted",
            "created": now,
            "data": {"object": sub, "previous_attributes": {}},
        },
    ]


def test_reconcile_applies_missed_events_and_sends_only_corrected_fields(
    pipeline, site, server, stripe_lists, commit
):
    history = History(ACCOUNT, customers=20, charges=60)
    lists = stripe_lists(history)
    account = connect(site, commit)
    server.wait_idle()
    before = fields(site)
    sent_before = len(server.requests)
    lists.events = missed(history)

    out = io.StringIO()
    commit(call_command, "bento_stripe_reconcile", ACCOUNT, stdout=out)
    server.wait_idle()
    text = out.getvalue()
    after = fields(site)
    changed = {e for e in after if after[e] != before.get(e)}
    assert "person0@example.com" in changed  # the canceled subscription
    assert f"{ACCOUNT}: 2 event(s) read" in text
    for email in changed:
        for key in after[email]:
            if after[email][key] != before[email].get(key):
                assert f"{email}  {key}: " in text
    assert "person0@example.com  subscription_status: " in text and '-> "canceled"' in text
    new = server.requests[sent_before:]
    assert new and {r.endpoint for r in new} == {"batch/subscribers"}
    assert server.bento(site.bento_site_uuid).subscribers == after
    assert not OutboxEvent.objects.exclude(kind=OutboxEvent.Kind.SUBSCRIBER).exists()

    # Again: the same events are already applied, nothing is corrected or sent.
    rows = OutboxEvent.objects.count()
    report = commit(reconcile, StripeAccount.objects.get(pk=account.pk))
    assert report.events == 2 and report.corrections == []
    assert OutboxEvent.objects.count() == rows
    cursor = BackfillCursor.objects.get(account=account, resource="events")
    assert cursor.state == "done" and cursor.run == 2


def test_reconcile_after_webhooks_arrived_changes_nothing(pipeline, site, stripe_lists, commit):
    history = History(ACCOUNT, customers=20, charges=60)
    lists = stripe_lists(history)
    connect(site, commit)
    lists.events = missed(history)
    apply_as_webhooks(lists.events)  # they did arrive
    before = fields(site)
    report = commit(reconcile, StripeAccount.objects.get(stripe_user_id=ACCOUNT))
    assert report.events == 2 and report.corrections == []
    assert fields(site) == before


def test_backfill_command_runs_in_the_foreground_and_again(pipeline, site, stripe_lists, settings):
    history = History(ACCOUNT, customers=30, charges=150)
    lists = stripe_lists(history)
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "BACKFILL_ON_CONNECT": False}
    connect(site)
    out = io.StringIO()
    call_command("bento_stripe_backfill", ACCOUNT, "--no-progress", stdout=out)
    text = out.getvalue()
    assert f"{ACCOUNT}: done" in text
    assert "charges        done          150 objects      2 pages" in text
    first = fields(site)
    assert first

    out = io.StringIO()
    call_command("bento_stripe_backfill", "--all", "--since", "2000-01-01", stdout=out)
    assert "0 field update(s) queued" in out.getvalue()
    assert fields(site) == first
    assert ("created[gte]", "946684800") in lists.list_requests("charges")[-1]["query"]
    assert backfill.state(StripeAccount.objects.get(stripe_user_id=ACCOUNT)).done

    with pytest.raises(CommandError, match="not both"):
        call_command("bento_stripe_backfill", ACCOUNT, "--all")
    with pytest.raises(CommandError, match="acct_nope"):
        call_command("bento_stripe_backfill", "acct_nope")


def test_schedules_include_the_nightly_reconciliation(db, settings):
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "RECONCILE_EVERY_MINUTES": 720}
    queue.ensure_schedules()
    found = Schedule.objects.get(func=queue.RECONCILE)
    assert found.minutes == 720 and found.repeats == -1
    assert Schedule.objects.filter(func=queue.BACKFILL_SWEEP).count() == 1
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "RECONCILE_EVERY_MINUTES": 1440}
    queue.ensure_schedules()
    assert Schedule.objects.get(func=queue.RECONCILE).minutes == 1440


def test_system_check_names_the_reconcile_setting(settings):
    from bento_stripe.checks import check_backfill_settings

    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "RECONCILE_EVERY_MINUTES": 0}
    messages = check_backfill_settings()
    assert [m.id for m in messages] == ["bento_stripe.E026"]
    assert "RECONCILE_EVERY_MINUTES" in messages[0].msg
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "RECONCILE_EVERY_MINUTES": 1440}
    assert check_backfill_settings() == []


def test_a_reconciliation_over_its_budget_goes_on_from_its_cursor(
    pipeline, site, stripe_lists, commit
):
    from bento_stripe.backfill import tasks

    history = History(ACCOUNT, customers=20, charges=60)
    lists = stripe_lists(history)
    account = connect(site, commit)
    now = int(time.time())
    lists.events = [
        {**e, "created": now} for e in sorted(history.events(), key=lambda e: e["id"], reverse=True)
    ]
    assert len(lists.events) > 100
    before = fields(site)

    first = reconcile(account, budget=0)  # one page, then it stops
    assert (first.finished, first.events) == (False, 100)
    cursor = BackfillCursor.objects.get(account=account, resource="events")
    assert cursor.state == "running" and cursor.starting_after == lists.events[99]["id"]

    assert commit(tasks.reconcile) == [account.pk]  # the schedule's task: goes on (sync)
    cursor.refresh_from_db()
    assert cursor.state == "done" and cursor.objects_done == len(lists.events)
    afters = [dict(r["query"]).get("starting_after") for r in lists.list_requests("events")]
    assert afters == [None, lists.events[99]["id"]]
    assert fields(site) == before  # every event was already in the ledger
