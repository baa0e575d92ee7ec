"""Signals around translation, a host's own translator, and re-routing a connection."""

from __future__ import annotations

import pytest

from bento_stripe import services, signals
from bento_stripe.models import OutboxEvent, Reroute, StripeEventRecord, Subscriber
from bento_stripe.translators import translator
from bento_stripe.translators.registry import registry

from .factories import SiteFactory, StripeAccountFactory
from .stripe_events import load

pytestmark = pytest.mark.django_db


@pytest.fixture
def connect():
    """Connect receivers for one test only."""
    connected = []

    def _connect(signal, receiver):
        signal.connect(receiver, weak=False)
        connected.append((signal, receiver))

    yield _connect
    for signal, receiver in connected:
        signal.disconnect(receiver)


def test_before_translate_can_veto(account, deliver, no_lookup, connect):
    connect(
        signals.before_translate, lambda sender, event, **kw: event["type"] != "charge.succeeded"
    )
    deliver(load("customer_created"), load("charge_succeeded"))
    record = StripeEventRecord.objects.get(event_type="charge.succeeded")
    assert (record.status, record.note) == ("ignored", "vetoed by a receiver")
    assert list(OutboxEvent.objects.values_list("event_type", flat=True)) == ["$CustomerCreated"]


def test_before_translate_can_amend(account, deliver, no_lookup, connect):
    def amend(sender, event, **kwargs):
        event["data"]["object"]["name"] = "Jane D."

    connect(signals.before_translate, amend)
    deliver(load("customer_created"))
    assert OutboxEvent.objects.get().payload["details"]["name"] == "Jane D."
    # The record keeps what Stripe sent.
    assert StripeEventRecord.objects.get().payload["data"]["object"]["name"] == "Jane Doe"


def test_after_translation_and_value_changed_signals(account, deliver, no_lookup, connect):
    translated, changed = [], []
    connect(signals.event_translated, lambda sender, **kw: translated.append(kw))
    connect(signals.value_changed, lambda sender, **kw: changed.append(kw))
    deliver(load("customer_created"), load("charge_succeeded"))
    assert [kw["bento_events"][0]["type"] for kw in translated] == [
        "$CustomerCreated",
        "$ChargeSucceeded",
    ]
    assert translated[1]["account"] == account and translated[1]["site"] == account.site
    assert [(kw["email"], kw["new_fields"]["lifetime_value"]) for kw in changed] == [
        ("jane@example.com", 0),
        ("jane@example.com", 49),
    ]
    assert changed[0]["old_fields"] is None
    assert changed[1]["old_fields"]["lifetime_value"] == 0


def test_outbox_ready_is_sent_after_commit_with_the_site(account, deliver, no_lookup, connect):
    ready = []
    connect(signals.outbox_ready, lambda sender, site_ids, **kw: ready.append(site_ids))
    deliver(load("customer_created"))
    assert ready == [{account.site_id}]


def test_a_host_translator_replaces_the_builtin(account, deliver, no_lookup):
    @translator("invoice.paid")
    def vip_invoice(ctx):
        events = ctx.default()
        for event in events:
            event.type = "$VipInvoicePaid"
            event.details["tier"] = "vip"
        return events

    try:
        deliver(load("customer_created"), load("invoice_paid"))
    finally:
        registry.unregister("invoice.paid")
    row = OutboxEvent.objects.get(event_type="$VipInvoicePaid")
    assert row.payload["details"]["tier"] == "vip"
    assert row.payload["details"]["amount_paid"] == 4900
    assert registry.get("invoice.paid").__name__ == "invoice"


def test_rerouting_moves_the_persons_value_to_the_new_site(
    account, deliver, no_lookup, django_capture_on_commit_callbacks
):
    deliver(load("customer_created"), load("charge_succeeded"))
    old_site = account.site
    new_site = SiteFactory(team=account.team)
    # The person also bought through another shop of the team routed to the new site.
    other = StripeAccountFactory(team=account.team, site=new_site, stripe_user_id="acct_1Other")
    charge = load("charge_succeeded_legacy")
    charge.update(account=other.stripe_user_id, id="evt_1TOtherShopCharge1")
    charge["data"]["object"]["customer"] = None
    deliver(charge)
    assert Subscriber.objects.get(site=new_site).fields["lifetime_value"] == 25
    with django_capture_on_commit_callbacks(execute=True):
        services.change_site(account, new_site)
    # DESIGN: lifetime_value over every account routed to the site now.
    assert Subscriber.objects.get(site=new_site).fields["lifetime_value"] == 74
    # The old site keeps what Bento has: nothing is sent there about the moved account.
    assert Subscriber.objects.get(site=old_site).fields["lifetime_value"] == 49
    pushed = {
        (row.site_id, row.payload["fields"]["lifetime_value"])
        for row in OutboxEvent.objects.filter(kind="subscriber")
    }
    assert pushed == {(new_site.pk, 74)}
    (job,) = Reroute.objects.all()
    assert job.finished_at is not None and job.attempts == 1
    # The next event of the account goes to the new site.
    deliver(load("charge_succeeded_jpy"))
    assert OutboxEvent.objects.get(stripe_event_id="evt_1TChargeSuccJpy01").site == new_site
