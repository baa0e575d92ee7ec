"""The invoices part of a unit of work: the items of invoices of one connection, in memory.

An invoice's Bento event names its items; its charge's events (paid, failed, refunded,
disputed) carry the same items when the ledger knows the invoice (docs/reference/events.rst).
The charge names its invoice (``charge.invoice``, API versions before 2025-03-31.basil), or
the invoice names its charge or payment intent (``invoice.charge``,
``invoice.payment_intent``, before basil; ``invoice.payments`` when Stripe includes it).
Like the ledger session, the rows a batch needs are read in one query up front
(:meth:`Invoices.preload`), looked up in memory only, and written back in one upsert.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from ..models import LedgerInvoice
from .parse import object_id
from .upsert import write_rows


@dataclass
class PaymentIds:
    """What a charge, refund or dispute object tells of its invoice and payment."""

    invoice: str = ""
    charge: str = ""
    payment_intent: str = ""

    @classmethod
    def of(cls, obj: dict) -> PaymentIds:
        kind = obj.get("object")
        own = obj["id"] if isinstance(obj.get("id"), str) else ""
        return cls(
            invoice=object_id(obj.get("invoice")),
            charge=own if kind == "charge" else object_id(obj.get("charge")),
            payment_intent=object_id(obj.get("payment_intent")),
        )


def invoice_payments(obj: dict) -> tuple[str, str]:
    """The charge and payment intent an invoice names (legacy fields, else its first
    ``payments`` entry that names one), "" for none. An unreadable ``payments`` names
    none: the invoice's own event does not depend on it."""
    charge = object_id(obj.get("charge"))
    intent = object_id(obj.get("payment_intent"))
    payments = obj.get("payments")
    entries = payments.get("data") if isinstance(payments, dict) else payments
    for entry in entries if isinstance(entries, list) else []:
        payment = entry.get("payment") if isinstance(entry, dict) else None
        if isinstance(payment, dict):
            charge = charge or object_id(payment.get("charge"))
            intent = intent or object_id(payment.get("payment_intent"))
    return charge, intent


@dataclass
class Invoices:
    """Items of the invoices of one connected account (and mode) a batch names."""

    stripe_account_id: str
    livemode: bool
    _rows: dict[str, LedgerInvoice] = field(default_factory=dict)
    _by_charge: dict[str, str] = field(default_factory=dict)
    _by_intent: dict[str, str] = field(default_factory=dict)
    _dirty: dict[str, LedgerInvoice] = field(default_factory=dict)

    @property
    def _key(self) -> dict:
        return {"stripe_account_id": self.stripe_account_id, "livemode": self.livemode}

    def _keep(self, row: LedgerInvoice) -> None:
        self._rows[row.invoice_id] = row
        if row.charge_id:
            self._by_charge[row.charge_id] = row.invoice_id
        if row.payment_intent_id:
            self._by_intent[row.payment_intent_id] = row.invoice_id

    def preload(self, named: Iterable[PaymentIds]) -> None:
        """Read the invoices the ids name, at once (no query when none is named)."""
        ids = list(named)
        wanted = {
            "invoice_id": sorted({i.invoice for i in ids if i.invoice} - set(self._rows)),
            "charge_id": sorted({i.charge for i in ids if i.charge} - set(self._by_charge)),
            "payment_intent_id": sorted(
                {i.payment_intent for i in ids if i.payment_intent} - set(self._by_intent)
            ),
        }
        # One statement: a unit names a batch's or a page's invoices (at most a few hundred
        # ids), far below SQLite's limit of bound variables.
        where = Q()
        for column, values in wanted.items():
            if values:
                where |= Q(**{f"{column}__in": values})
        if not where:
            return
        for row in LedgerInvoice.objects.filter(where, **self._key):
            if row.invoice_id not in self._rows:  # never replace a row changed in memory
                self._keep(row)

    def items_of(self, ids: PaymentIds) -> list[dict] | None:
        """The items of the invoice ``ids`` lead to, if it was preloaded or seen in this
        unit (None when not known: no query)."""
        invoice = (
            ids.invoice
            or self._by_charge.get(ids.charge, "")
            or self._by_intent.get(ids.payment_intent, "")
        )
        row = self._rows.get(invoice) if invoice else None
        return list(row.items) if row is not None else None

    def remember(self, obj: dict, items: list[dict], version: tuple[int, str]) -> None:
        """An invoice's items (as its Bento event names them), if newer than what is kept."""
        invoice_id = obj.get("id")
        if not isinstance(invoice_id, str) or not invoice_id:
            return  # an upcoming invoice has no id yet: no charge can name it
        charge, intent = invoice_payments(obj)
        row = self._rows.get(invoice_id)
        if row is None:
            row = LedgerInvoice(**self._key, invoice_id=invoice_id)
        elif not row.is_newer(*version):
            return
        row.version_created, row.version_event = version
        row.charge_id = charge[:255] or row.charge_id
        row.payment_intent_id = intent[:255] or row.payment_intent_id
        row.items = items
        self._keep(row)
        self._dirty[invoice_id] = row

    def flush(self) -> None:
        """Write every changed invoice in one upsert."""
        dirty = list(self._dirty.values())
        self._dirty = {}
        write_rows(LedgerInvoice, dirty, "invoice_id", timezone.now())


def named_by(objects: Iterable[dict]) -> list[PaymentIds]:
    """What a batch's objects tell of invoices: charges, refunds and disputes (their
    invoice or payment), and invoices themselves (their kept version decides newest-wins)."""
    found = []
    for obj in objects:
        kind = obj.get("object")
        if kind in ("charge", "refund", "dispute"):
            found.append(PaymentIds.of(obj))
        elif kind == "invoice" and isinstance(obj.get("id"), str):
            found.append(PaymentIds(invoice=obj["id"]))
    return found
