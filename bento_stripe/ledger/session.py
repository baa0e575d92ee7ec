"""Ledger writes of one unit of work: forward-only money, newest-wins state, touched people.

A session holds the rows of one connected account (and mode) that a batch of events
needs, read in bulk up front (``preload``) or on first use, changes them in memory and
writes them back with one bulk statement per table (``flush``). The caller holds the
account's lock, so nobody else changes these rows meanwhile; writes still upsert, so a
row made concurrently through another path is merged, never duplicated.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

from django.db.models import Model, Q
from django.utils import timezone

from ..models import LedgerCharge, LedgerCustomer, LedgerDispute, LedgerSubscription
from ..models.ledger import LedgerRow
from .catalogue import Catalogue
from .ids import ObjectIds
from .invoices import Invoices
from .journal import Journal
from .parse import (
    UnreadableObject,
    charge_captured,
    charge_email,
    coupon_data,
    discount_coupon,
    discount_data,
    minor_units,
    normalize_email,
    object_id,
    refunded_of_captured,
    require_id,
    subscription_currency,
    subscription_data,
    text,
    whole_number,
)
from .rowcache import RowCache, chunks

Row = TypeVar("Row", bound=LedgerRow)

#: The Stripe id column of each ledger table, in the order the tables are written.
KEY_FIELD: dict[type[Model], str] = {
    LedgerCustomer: "customer_id",
    LedgerCharge: "charge_id",
    LedgerDispute: "dispute_id",
    LedgerSubscription: "subscription_id",
}


@dataclass
class EmailChange:
    """A Stripe customer's email moved from ``old`` to ``new`` (in event ``event_id``)."""

    customer_id: str
    old: str
    new: str
    event_id: str = ""


class LedgerSession:
    """Applies Stripe objects to the ledger rows of one connected account, in memory, then in bulk."""

    def __init__(self, stripe_account_id: str, livemode: bool) -> None:
        self.stripe_account_id = stripe_account_id
        self.livemode = livemode
        #: The current event's ``created`` and id: the version of any state it carries.
        self.created = 0
        self.event_id = ""
        #: Emails whose value may have changed.
        self.touched: set[str] = set()
        #: Emails that lost a row here (the row's email moved away): touched too.
        self.left: set[str] = set()
        self.email_changes: list[EmailChange] = []
        #: The rows read or made; a row made is written even when nothing is set on it.
        self._cache = RowCache(stripe_account_id, livemode, KEY_FIELD, write_new_rows=True)
        self._rows = self._cache.rows
        #: Customers whose charges and subscriptions are all in memory.
        self._children_loaded: set[str] = set()
        #: Coupons looked up at Stripe for this batch, by id (see ``remember_coupon``).
        self.coupons: dict[str, dict] = {}
        #: Products and prices of this account, to name items (``bento_stripe.ledger.items``).
        self.catalogue = Catalogue(stripe_account_id, livemode)
        #: Items of the invoices this unit names, for their charges' events.
        self.invoices = Invoices(stripe_account_id, livemode)
        self._journal: Journal | None = None

    @property
    def journal(self) -> Journal | None:
        """The rows after each event, for per-event ``$MrrChanged`` (units that send events);
        told of every row read or changed through the row cache."""
        return self._journal

    @journal.setter
    def journal(self, journal: Journal | None) -> None:
        self._journal = journal
        self._cache.observer = journal

    # --- the current event ----------------------------------------------------------------

    def at(self, created: int, event_id: str) -> None:
        """Objects applied from now on carry this version (an event's ``created`` and id)."""
        self.created, self.event_id = int(created), event_id

    # --- reading ----------------------------------------------------------------------------

    def preload(self, ids: ObjectIds) -> None:
        """Read every row the ids name, and the charges and subscriptions of the customers
        whose email may move in the batch (their own object is in it, or no email is known
        for them yet): the rows an email move rewrites. A customer whose known email stays
        keeps its rows unread (``_children`` reads them should it move after all)."""
        ids.discard_empty()
        customers = sorted(ids.customers)
        for chunk in chunks(customers):
            self._cache.load(LedgerCustomer, Q(customer_id__in=chunk))
        known = self._rows[LedgerCustomer]
        moving = sorted(
            c
            for c in customers
            if c in ids.customer_objects or not getattr(known.get(c), "email", "")
        )
        for chunk in chunks(moving):
            self._cache.load(LedgerCharge, Q(customer_id__in=chunk))
            self._cache.load(LedgerSubscription, Q(customer_id__in=chunk))
        self._children_loaded.update(moving)
        for model, wanted in (
            (LedgerCharge, ids.charges),
            (LedgerSubscription, ids.subscriptions),
            (LedgerDispute, ids.disputes),
        ):
            self._cache.load_keys(model, sorted(k for k in wanted if k not in self._rows[model]))
        # The customers of the rows just read decide their emails.
        owners = {
            row.customer_id  # type: ignore[attr-defined]  # both models have customer_id
            for model in (LedgerCharge, LedgerSubscription)
            for row in self._rows[model].values()
            if row is not None and row.customer_id  # type: ignore[attr-defined]
        }
        self._cache.load_keys(LedgerCustomer, sorted(owners - set(self._rows[LedgerCustomer])))
        for key in customers:
            self._rows[LedgerCustomer].setdefault(key, None)

    def _children(self, model: type[Row], customer_id: str) -> list[Row]:
        """Rows of ``model`` (charges or subscriptions) of a customer, all of them."""
        if customer_id not in self._children_loaded:
            self._children_loaded.add(customer_id)
            self._cache.load(LedgerCharge, Q(customer_id=customer_id))
            self._cache.load(LedgerSubscription, Q(customer_id=customer_id))
        return [
            row  # type: ignore[misc]
            for row in self._rows[model].values()
            if row is not None and row.customer_id == customer_id  # type: ignore[attr-defined]
        ]

    def rows(self) -> Iterator[Model]:
        """Every row in memory (read or made)."""
        return self._cache.all_rows()

    def _touch(self, *emails: str) -> None:
        self.touched.update(e for e in emails if e)

    def _moved(self, before: str, after: str) -> None:
        """A row's email went from ``before`` to ``after`` (the same, often)."""
        self._touch(before, after)
        if before and before != after:
            self.left.add(before)

    # --- writing ----------------------------------------------------------------------------

    def flush(self) -> None:
        """Write every changed row: one upsert per table."""
        now = timezone.now()
        self.catalogue.flush()
        self._cache.flush(now)
        self.invoices.flush()

    # --- customers --------------------------------------------------------------------------

    def customer_email(self, customer_id: str) -> str:
        """The known email of a customer of this account ("" when unknown)."""
        if not customer_id:
            return ""
        row = self._cache.get(LedgerCustomer, customer_id)
        return row.email if row else ""

    def customer(
        self, obj: dict, *, deleted: bool = False, version: tuple[int, str] | None = None
    ) -> LedgerCustomer:
        """Apply a customer object if it is newer than what is known; track email changes."""
        created, event_id = version or (self.created, self.event_id)
        # Read everything first: an unreadable object changes nothing.
        customer_id = require_id(obj)
        new_email = normalize_email(text(obj, "email"))
        name = text(obj, "name")[:255]
        currency = text(obj, "currency").lower()
        born = whole_number(obj, "created")
        told = "discount" in obj  # newer API versions may leave the field out
        discount = discount_data(obj.get("discount")) if told else None
        if discount is not None and set(discount) == {"id"}:  # its coupon only by id
            discount = {**discount, **(self._discount_coupon(obj["discount"]) or {})}
        row = self._cache.get_or_new(LedgerCustomer, customer_id)
        if told:
            self._set_customer_discount(row, discount, (created, event_id))
        if not row.is_newer(created, event_id):
            return row
        old_email = row.email
        row.version_created, row.version_event = created, event_id
        row.name = name
        row.currency = currency or row.currency or ""
        row.created = born or row.created or 0
        row.deleted = deleted or bool(obj.get("deleted"))
        if new_email or not old_email:
            row.email = new_email
        self._cache.changed(row)
        if row.email != old_email:
            self._move_customer_rows(row.customer_id, row.email)
            if old_email and row.email:
                self.email_changes.append(
                    EmailChange(row.customer_id, old_email, row.email, self.event_id)
                )
        self._moved(old_email, row.email)
        return row

    def remember_coupon(self, obj: dict) -> None:
        """A coupon looked up at Stripe: discounts naming it by id only read its terms."""
        self.coupons[require_id(obj)] = coupon_data(obj)

    def _discount_coupon(self, discount: dict) -> dict | None:
        """A discount's coupon data: inline, else a coupon looked up by its id."""
        coupon = discount_coupon(discount)
        if coupon is None:
            source = discount.get("source")
            named = discount.get("coupon") or (
                source.get("coupon") if isinstance(source, dict) else None
            )
            coupon = self.coupons.get(named) if isinstance(named, str) else None
        return coupon

    def customer_discount(self, obj: dict, *, deleted: bool = False) -> LedgerCustomer:
        """Apply a ``customer.discount.*`` event's discount: remember its coupon by id, and
        when it is customer-wide (no ``subscription``), make it the customer's coupon (newest
        event wins; ``deleted`` removes it)."""
        customer_id = object_id(obj.get("customer"))
        if not customer_id:
            raise UnreadableObject("the discount names no customer")
        coupon = self._discount_coupon(obj)
        discount_id = text(obj, "id")
        subscription = object_id(obj.get("subscription"))
        row = self._cache.get_or_new(LedgerCustomer, customer_id)
        if discount_id and coupon is not None:
            known = dict(row.data.get("known_discounts") or {})
            if known.get(discount_id) != coupon:
                known[discount_id] = coupon
                row.data = {**row.data, "known_discounts": known}
                self._cache.changed(row)
        if not subscription:
            wide = None if deleted else {"id": discount_id, **(coupon or {})}
            self._set_customer_discount(row, wide, (self.created, self.event_id))
        self._touch(row.email)
        return row

    def _set_customer_discount(
        self, row: LedgerCustomer, discount: dict | None, version: tuple[int, str]
    ) -> None:
        """The customer-wide coupon as of ``version``, unless a newer one is known."""
        if list(version) <= list(row.data.get("discount_version") or [0, ""]):
            return
        known = dict(row.data.get("known_discounts") or {})
        coupon = {k: v for k, v in (discount or {}).items() if k != "id"}
        if discount and discount.get("id") and coupon:
            known[discount["id"]] = coupon
        row.data = {
            **row.data,
            "discount": coupon or None,
            "discount_version": list(version),
            "known_discounts": known,
        }
        self._cache.changed(row)
        self._touch(row.email)

    def learn_email(self, customer_id: str, email: str) -> None:
        """Fill in a customer's email from an invoice or charge when no customer event told it."""
        email = normalize_email(email)
        if not customer_id or not email:
            return
        row = self._cache.get_or_new(LedgerCustomer, customer_id)
        if row.email or row.version_created:
            return
        row.email = email
        self._cache.changed(row)
        self._move_customer_rows(customer_id, email)
        self._touch(email)

    def _move_customer_rows(self, customer_id: str, email: str) -> None:
        for charge in self._children(LedgerCharge, customer_id):
            before, charge.email = charge.email, email or charge.own_email
            self._moved(before, charge.email)
            self._cache.changed(charge)
        for sub in self._children(LedgerSubscription, customer_id):
            before, sub.email = sub.email, email
            self._moved(before, sub.email)
            self._cache.changed(sub)

    # --- charges ----------------------------------------------------------------------------

    def charge(self, obj: dict) -> LedgerCharge:
        """Merge a charge object: amounts only grow, so a stale event never undoes a later one."""
        charge_id = require_id(obj)
        own_email = charge_email(obj)
        currency = text(obj, "currency").lower()
        born = whole_number(obj, "created")
        captured, refunded = charge_captured(obj), refunded_of_captured(obj)
        row = self._cache.get_or_new(LedgerCharge, charge_id)
        before = row.email
        row.customer_id = object_id(obj.get("customer")) or row.customer_id
        row.own_email = own_email or row.own_email
        row.currency = currency or row.currency
        row.created = born or row.created
        row.captured = max(row.captured, captured)
        row.refunded = max(row.refunded, refunded)
        if row.customer_id and row.own_email:
            self.learn_email(row.customer_id, row.own_email)
        row.email = self.customer_email(row.customer_id) or row.own_email
        self._cache.changed(row)
        self._moved(before, row.email)
        return row

    def charge_row(self, charge_id: str) -> LedgerCharge | None:
        """The ledger row of a charge of this account, if known."""
        return self._cache.get(LedgerCharge, charge_id) if charge_id else None

    def emit_capture_value(self, row: LedgerCharge) -> tuple[str, int] | None:
        """The capture's value event amount, once per charge (``unique.key`` = the charge id).

        Writes: marks the amount emitted (``captured_emitted``), so it is not given again."""
        if row.captured <= 0 or row.captured_emitted:
            return None
        row.captured_emitted = row.captured
        self._cache.changed(row)
        return row.currency.upper(), row.captured

    def emit_refund_value(self, row: LedgerCharge, cumulative: int) -> tuple[str, int] | None:
        """Minus the growth of the cumulative refund beyond the highest already announced.

        Writes: ``cumulative`` becomes the highest announced (``refunded_emitted``)."""
        if cumulative <= row.refunded_emitted:
            return None
        delta = cumulative - row.refunded_emitted
        row.refunded_emitted = cumulative
        self._cache.changed(row)
        return row.currency.upper(), -delta

    # --- disputes ---------------------------------------------------------------------------

    def dispute(self, obj: dict) -> LedgerDispute:
        """Record a dispute; ``lost`` only ever turns on."""
        dispute_id = require_id(obj)
        amount = minor_units(obj, "amount") or 0
        currency = text(obj, "currency").lower()
        status = text(obj, "status")
        row = self._cache.get_or_new(LedgerDispute, dispute_id)
        row.charge_id = object_id(obj.get("charge")) or row.charge_id
        row.amount = max(row.amount, amount)
        row.currency = currency or row.currency
        if row.is_newer(self.created, self.event_id):
            row.version_created, row.version_event = self.created, self.event_id
            row.status = status
        row.lost = row.lost or status == "lost"
        charge = self.charge_row(row.charge_id)
        row.email = charge.email if charge else row.email
        self._cache.changed(row)
        if row.lost:
            if charge is None and not row.charge_id:
                return row  # no charge named yet: nobody's value to lower
            if charge is None:  # a placeholder, so the charge's own events fill it later
                charge = self._cache.get_or_new(LedgerCharge, row.charge_id)
                charge.currency = charge.currency or row.currency
                self._cache.changed(charge)
            self._touch(charge.email)
        return row

    def emit_lost_value(self, row: LedgerDispute) -> tuple[str, int] | None:
        """Minus the disputed amount, once, when the dispute is lost.

        Writes: marks the loss emitted (``lost_emitted``), so it is not given again."""
        if not row.lost or row.lost_emitted:
            return None
        row.lost_emitted = True
        self._cache.changed(row)
        return row.currency.upper(), -row.amount

    # --- subscriptions ----------------------------------------------------------------------

    def subscription(self, obj: dict) -> LedgerSubscription:
        """Apply a subscription object if it is newer than what is known."""
        subscription_id = require_id(obj)
        status = text(obj, "status")
        born = whole_number(obj, "created")
        data = subscription_data(obj)
        currency = subscription_currency(obj, data)
        row = self._cache.get_or_new(LedgerSubscription, subscription_id)
        if not row.is_newer(self.created, self.event_id):
            return row
        before = row.email
        row.version_created, row.version_event = self.created, self.event_id
        row.customer_id = object_id(obj.get("customer")) or row.customer_id
        row.status = status
        row.currency = currency or row.currency or ""
        row.created = born or row.created or 0
        row.data = data
        row.email = self.customer_email(row.customer_id)
        self._cache.changed(row)
        self._moved(before, row.email)
        return row

    # --- people whose email is known now ---------------------------------------------------

    def keys_with_email(self) -> dict[str, str]:
        """Customer and charge ids in memory whose person's email is known: id → email."""
        known: dict[str, str] = {}
        for model in (LedgerCustomer, LedgerCharge):
            for key, row in self._rows[model].items():
                if isinstance(row, LedgerRow) and row.email:
                    known[key] = row.email
        return known
