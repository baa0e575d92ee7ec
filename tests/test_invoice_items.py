"""Charge events of an invoice carry the invoice's items when the ledger knows the invoice
(docs/reference/events.rst): legacy links (``charge.invoice``, ``invoice.charge``) and the
current one (the invoice's payments name the payment intent)."""

from __future__ import annotations

import pytest

from bento_stripe.models import LedgerInvoice, OutboxEvent, StripeEventRecord
from bento_stripe.processing import tasks
from bento_stripe.webhooks.views import record_once

from .stripe_events import load
from .test_products import PRO, event, price, sent

pytestmark = pytest.mark.django_db

ITEM = {
    "product": "prod_TPro0001",
    "product_name": "Pro course",
    "price": "price_TPro0001",
    "price_nickname": "Pro",
    "quantity": 1,
    "amount": 4900,
    "currency": "USD",
    "interval": "month",
}


def invoice(name: str = "invoice_paid", **changes) -> dict:
    """An invoice event whose one line names the Pro price (current shape)."""
    e = load(name)
    obj = e["data"]["object"]
    obj["lines"]["data"][0]["pricing"]["price_details"] = {
        "price": "price_TPro0001",
        "product": "prod_TPro0001",
    }
    obj.update(changes)
    return e


@pytest.fixture
def catalogue(account, deliver, no_lookup):
    deliver(
        load("customer_created"),
        event("product.created", PRO, 1),
        event("price.created", price("price_TPro0001", "prod_TPro0001", 4900, "Pro"), 2),
    )


def paid_through_intent() -> dict:
    return {"data": [{"payment": {"type": "payment_intent", "payment_intent": "pi_3TJane0001"}}]}


def test_a_charge_of_a_known_invoice_names_its_items(catalogue, deliver):
    """Current API versions: the charge names no invoice; the invoice's payments name the
    charge's payment intent."""
    deliver(invoice(payments=paid_through_intent()))
    deliver(load("charge_succeeded"), load("charge_refunded_partial"))
    for event_id in ("evt_1TChargeSucceeded1", "evt_1TChargeRefunded01"):
        details = sent(event_id)["details"]
        assert details["items"] == [ITEM]
        assert details["product_names"] == ["Pro course"]
    row = LedgerInvoice.objects.get()
    assert (row.invoice_id, row.payment_intent_id) == ("in_TJane0001", "pi_3TJane0001")


def test_legacy_links_charge_invoice_and_invoice_charge(catalogue, deliver):
    deliver(invoice(id="in_TJaneLegacy1"))  # charge_succeeded_legacy names it
    deliver(invoice("invoice_payment_failed_legacy"))  # it names ch_3TJane0001
    deliver(load("charge_succeeded_legacy"), load("charge_succeeded"))
    assert sent("evt_1TChargeSuccLegacy")["details"]["items"] == [ITEM]
    assert sent("evt_1TChargeSucceeded1")["details"]["product_names"] == ["Pro course"]


def test_a_charge_of_an_unknown_invoice_carries_no_items(catalogue, deliver):
    deliver(load("charge_succeeded"))
    details = sent("evt_1TChargeSucceeded1")["details"]
    assert "items" not in details and "product_names" not in details


def test_the_invoice_and_its_charge_in_one_batch(catalogue, settings):
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "PROCESS_BATCH_SIZE": 100}
    assert record_once(invoice(payments=paid_through_intent()))
    assert record_once(load("charge_succeeded"))
    assert tasks.process_waiting(linger=0) == 2
    assert sent("evt_1TChargeSucceeded1")["details"]["items"] == [ITEM]


def test_the_newest_invoice_version_wins(catalogue, deliver):
    deliver(invoice(payments=paid_through_intent()))
    older = invoice(payments=paid_through_intent())
    older.update(id="evt_older", created=older["created"] - 60)
    older["data"]["object"]["lines"]["data"][0]["quantity"] = 7
    deliver(older)
    assert LedgerInvoice.objects.get().items == [ITEM]


def test_a_backfilled_invoice_names_its_charges_items(catalogue, account, deliver):
    from bento_stripe.processing.unit import UnitOfWork

    obj = invoice(payments=paid_through_intent())["data"]["object"]
    with UnitOfWork(account, fields_only="t:1") as uow:
        uow.ledger.catalogue.preload(["prod_TPro0001"], ["price_TPro0001"])
        assert uow.apply_snapshots([("invoice", obj, (1_795_852_900, "api"))]) == 1
    deliver(load("charge_succeeded"))
    assert sent("evt_1TChargeSucceeded1")["details"]["items"] == [ITEM]


def test_a_batch_of_charges_of_known_invoices_reads_them_in_one_query(
    catalogue, settings, django_assert_max_num_queries
):
    """50 invoices and their 50 charges in one batch, then 50 refunds naming them: the
    invoices cost one query a batch, none an event (≤ 0.5 queries an event in all)."""
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "PROCESS_BATCH_SIZE": 100}

    def charge(n: int, name: str) -> dict:
        e = load(name)
        e["id"] = f"evt_{name}_{n}"
        e["data"]["object"].update(id=f"ch_{n}", payment_intent=f"pi_{n}")
        return e

    for n in range(50):
        bill = invoice(payments=paid_through_intent(), id=f"in_{n}")
        bill["id"] = f"evt_in_{n}"
        bill["data"]["object"]["payments"]["data"][0]["payment"]["payment_intent"] = f"pi_{n}"
        assert record_once(bill) and record_once(charge(n, "charge_succeeded"))
    with django_assert_max_num_queries(50):
        assert tasks.process_waiting(linger=0) == 100
    for n in range(50):
        assert record_once(charge(n, "charge_refunded_partial"))
    with django_assert_max_num_queries(50):
        assert tasks.process_waiting(linger=0) == 50
    assert set(StripeEventRecord.objects.values_list("status", flat=True)) == {"processed"}
    refunds = OutboxEvent.objects.filter(event_type="$ChargeRefunded")
    assert refunds.count() == 50
    assert all(r.payload["details"]["items"] == [ITEM] for r in refunds)


def test_the_prune_removes_old_invoice_items_no_waiting_event_needs(catalogue, deliver):
    from datetime import timedelta

    from django.utils import timezone

    from bento_stripe.operations.retention import prune

    other = invoice(id="in_other")
    other["id"] = "evt_other"
    deliver(invoice(payments=paid_through_intent()), other)
    assert LedgerInvoice.objects.count() == 2
    assert record_once(load("charge_succeeded"))  # waiting: it names pi_3TJane0001
    later = timezone.now() + timedelta(days=400)
    assert prune(dry_run=True, now=later).counts["invoice items deleted"] == 1
    assert prune(now=later).counts["invoice items deleted"] == 1
    assert list(LedgerInvoice.objects.values_list("invoice_id", flat=True)) == ["in_TJane0001"]
    assert prune().counts["invoice items deleted"] == 0  # recent rows stay
    assert tasks.process_waiting(linger=0) == 1
    assert sent("evt_1TChargeSucceeded1")["details"]["items"] == [ITEM]
    assert prune(now=later).counts["invoice items deleted"] == 1
    assert not LedgerInvoice.objects.exists()


def test_a_large_backlog_puts_off_pruning_invoice_items(catalogue, deliver, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from bento_stripe.operations import retention

    deliver(invoice(id="in_other"))
    assert record_once(load("charge_succeeded"))  # waiting, naming one payment
    later = timezone.now() + timedelta(days=400)
    monkeypatch.setattr(retention, "MAX_WAITING_NAMES", 0)
    assert retention.prune(now=later).counts["invoice items deleted"] == 0
    monkeypatch.setattr(retention, "MAX_WAITING_NAMES", 1)
    assert retention.prune(now=later).counts["invoice items deleted"] == 1
