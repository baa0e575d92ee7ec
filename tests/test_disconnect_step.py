"""Ending a connection is a processing step: the translators of the events that end one
only translate (to nothing), and processing marks the connection deauthorized itself."""

from __future__ import annotations

import pytest

from bento_stripe import signals
from bento_stripe.models import BackfillCursor, OutboxEvent, StripeAccount, StripeEventRecord
from bento_stripe.processing import tasks
from bento_stripe.processing.disconnect import DEAUTHORIZING_EVENTS
from bento_stripe.processing.unit import ENDED_BY_DISCONNECT
from bento_stripe.translators import translator
from bento_stripe.translators.base import TranslationContext
from bento_stripe.translators.registry import registry
from bento_stripe.webhooks.views import record_once

from .factories import OutboxEventFactory
from .stripe_events import load

EVENT_TYPES = sorted(DEAUTHORIZING_EVENTS)


def ending_event(account: StripeAccount, event_type: str) -> dict:
    event = load("account_application_deauthorized")
    event.update(id=f"evt_end_{event_type}", type=event_type, account=account.stripe_user_id)
    return event


@pytest.fixture
def connected(account):
    account.access_token = "sk_test_connected_token"
    account.refresh_token = "rt_connected_token"
    account.save()
    OutboxEventFactory(connection=account, site=account.site, status=OutboxEvent.Status.HELD)
    BackfillCursor.objects.create(account=account, resource=BackfillCursor.Resource.CHARGES)
    done = BackfillCursor.objects.create(
        account=account,
        resource=BackfillCursor.Resource.CUSTOMERS,
        state=BackfillCursor.State.DONE,
    )
    return account, done


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_the_built_in_translation_of_an_ending_event_sends_nothing(account, event_type):
    builtin = registry.builtin(event_type)
    assert builtin is not None
    ctx = TranslationContext(
        event=ending_event(account, event_type), account=account, site=account.site, ledger=None
    )
    assert builtin(ctx) == []
    account.refresh_from_db()
    assert account.status == StripeAccount.Status.ACTIVE  # translating changed nothing


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_processing_ends_the_connection_the_event_reports(
    connected, event_type, django_capture_on_commit_callbacks
):
    account, done = connected
    heard = []

    def receiver(sender, account, by, status, **kwargs):
        heard.append((account.pk, by, status))

    signals.account_disconnected.connect(receiver)
    try:
        assert record_once(ending_event(account, event_type))
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.process_waiting(linger=0) == 1
    finally:
        signals.account_disconnected.disconnect(receiver)
    account.refresh_from_db()
    assert account.status == StripeAccount.Status.DEAUTHORIZED
    assert account.disconnected_at is not None
    assert (account.access_token, account.refresh_token) == ("", "")
    assert account.access_token_expires_at is None
    held = OutboxEvent.objects.get(connection=account)
    assert (held.status, held.last_error) == (OutboxEvent.Status.SKIPPED, ENDED_BY_DISCONNECT)
    states = dict(BackfillCursor.objects.values_list("resource", "state"))
    assert states == {"charges": "stopped", "customers": "done"}
    assert heard == [(account.pk, None, StripeAccount.Status.DEAUTHORIZED)]
    record = StripeEventRecord.objects.get()
    assert record.status == StripeEventRecord.Status.PROCESSED


def test_a_hosts_translator_for_an_ending_event_does_not_keep_the_connection(connected):
    """A host may replace the translation; ending the connection is not the translator's."""
    account, _ = connected
    event_type = "account.application.deauthorized"
    seen = []

    @translator(event_type)
    def hosts(ctx):
        seen.append(ctx.account.status)
        return ctx.default()

    try:
        assert record_once(ending_event(account, event_type))
        assert tasks.process_waiting(linger=0) == 1
    finally:
        registry.unregister(event_type)
    assert seen == [StripeAccount.Status.ACTIVE]
    account.refresh_from_db()
    assert account.status == StripeAccount.Status.DEAUTHORIZED


def test_an_ending_event_vetoed_by_a_receiver_ends_nothing(connected):
    account, _ = connected

    def veto(sender, event, **kwargs):
        return False

    signals.before_translate.connect(veto)
    try:
        assert record_once(ending_event(account, "apps.install.deleted"))
        tasks.process_waiting(linger=0)
    finally:
        signals.before_translate.disconnect(veto)
    account.refresh_from_db()
    assert account.status == StripeAccount.Status.ACTIVE
    assert account.access_token == "sk_test_connected_token"
