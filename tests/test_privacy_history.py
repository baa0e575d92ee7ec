"""An erased person is not rebuilt from Stripe's history: neither a reconciliation that
replays missed events about them nor a new backfill run imports them again."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from bento_stripe.backfill.reconcile import reconcile
from bento_stripe.models import LedgerCustomer, LedgerSubscription, StripeAccount, Subscriber
from bento_stripe.operations.privacy import erase_person

from .stripe_history import History
from .test_backfill import ACCOUNT, connect
from .test_reconcile import missed

pytestmark = pytest.mark.django_db

ERASED = "person0@example.com"


def test_reconciliation_and_backfill_do_not_rebuild_an_erased_person(
    pipeline, site, stripe_lists, commit
):
    history = History(ACCOUNT, customers=20, charges=60)
    lists = stripe_lists(history)
    connect(site, commit)
    assert LedgerCustomer.objects.filter(email=ERASED).exists()
    report = commit(erase_person, ERASED)
    assert report.counts["ledger customers deleted"] >= 1

    lists.events = missed(history)  # includes the cancellation of person0's subscription
    commit(reconcile, StripeAccount.objects.get(stripe_user_id=ACCOUNT))
    assert not LedgerCustomer.objects.filter(email=ERASED).exists()
    assert not LedgerSubscription.objects.filter(email=ERASED).exists()
    assert not Subscriber.objects.filter(email=ERASED).exists()

    commit(call_command, "bento_stripe_backfill", ACCOUNT, stdout=io.StringIO())
    assert not LedgerCustomer.objects.filter(email=ERASED).exists()
    assert not Subscriber.objects.filter(email=ERASED).exists()
    # Everyone else is still there.
    assert LedgerCustomer.objects.filter(email="person1@example.com").exists()
