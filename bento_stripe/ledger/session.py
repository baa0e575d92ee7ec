"""Ledger writes for one Stripe event: forward-only money, newest-wins state, touched people."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import F

from ..models import LedgerCharge, LedgerCustomer, LedgerDispute, LedgerSubscription
from .parse import (
    charge_captured,
    charge_email,
    normalize_email,
    object_id,
    refunded_of_captured,
    subscription_data,
)


@dataclass
class EmailChange:
    """A Stripe customer's email moved from ``old`` to ``new``."""

    customer_id: str
    old: str
    new: str


@dataclass
class LedgerSession:
    """Applies one event's objects to the ledger rows of one connected account."""

    stripe_account_id: str
    livemode: bool
    #: The event's ``created`` and id: the version of any state it carries.
    created: int
    event_id: str
    #: Emails whose value may have changed.
    touched: set[str] = field(default_factory=set)
    email_changes: list[EmailChange] = field(default_factory=list)

    @property
    def _key(self) -> dict:
        return {"stripe_account_id": self.stripe_account_id, "livemode": self.livemode}

    def _locked(self, model, **lookup):
        row = model.objects.select_for_update().filter(**self._key, **lookup).first()
        if row is None:
            model.objects.get_or_create(**self._key, **lookup)
            row = model.objects.select_for_update().get(**self._key, **lookup)
        return row

    def _touch(self, *emails: str) -> None:
        self.touched.update(e for e in emails if e)

    # --- customers -------------------------------------------------------------------

    def customer_email(self, customer_id: str) -> str:
        """The known email of a customer of this account ("" when unknown)."""
        if not customer_id:
            return ""
        row = LedgerCustomer.objects.filter(**self._key, customer_id=customer_id).first()
        return row.email if row else ""

    def customer(
        self, obj: dict, *, deleted: bool = False, version: tuple[int, str] | None = None
    ) -> LedgerCustomer:
        """Apply a customer object if it is newer than what is known; track email changes."""
        created, event_id = version or (self.created, self.event_id)
        row = self._locked(LedgerCustomer, customer_id=obj["id"])
        if not row.is_newer(created, event_id):
            return row
        old_email = row.email
        new_email = normalize_email(obj.get("email"))
        row.version_created, row.version_event = created, event_id
        row.name = str(obj.get("name") or "")[:255]
        row.currency = (obj.get("currency") or row.currency or "").lower()
        row.created = int(obj.get("created") or row.created or 0)
        row.deleted = deleted or bool(obj.get("deleted"))
        if new_email or not old_email:
            row.email = new_email
        row.save()
        if row.email != old_email:
            self._move_customer_rows(row.customer_id, row.email)
            if old_email and row.email:
                self.email_changes.append(EmailChange(row.customer_id, old_email, row.email))
        self._touch(old_email, row.email)
        return row

    def learn_email(self, customer_id: str, email: str) -> None:
        """Fill in a customer's email from an invoice or charge when no customer event told it."""
        email = normalize_email(email)
        if not customer_id or not email:
            return
        row = self._locked(LedgerCustomer, customer_id=customer_id)
        if row.email or row.version_created:
            return
        row.email = email
        row.save(update_fields=["email", "updated_at"])
        self._move_customer_rows(customer_id, email)
        self._touch(email)

    def _move_customer_rows(self, customer_id: str, email: str) -> None:
        charges = LedgerCharge.objects.filter(**self._key, customer_id=customer_id)
        self._touch(*charges.values_list("email", flat=True).distinct())
        if email:
            charges.update(email=email)
        else:
            charges.update(email=F("own_email"))
        subs = LedgerSubscription.objects.filter(**self._key, customer_id=customer_id)
        self._touch(*subs.values_list("email", flat=True).distinct())
        subs.update(email=email)

    # --- charges -------------------------------------------------------------------------

    def charge(self, obj: dict) -> LedgerCharge:
        """Merge a charge object: amounts only grow, so a stale event never undoes a later one."""
        row = self._locked(LedgerCharge, charge_id=obj["id"])
        before = row.email
        row.customer_id = object_id(obj.get("customer")) or row.customer_id
        row.own_email = charge_email(obj) or row.own_email
        row.currency = (obj.get("currency") or row.currency).lower()
        row.created = int(obj.get("created") or row.created)
        row.captured = max(row.captured, charge_captured(obj))
        row.refunded = max(row.refunded, refunded_of_captured(obj))
        if row.customer_id and row.own_email:
            self.learn_email(row.customer_id, row.own_email)
        row.email = self.customer_email(row.customer_id) or row.own_email
        row.save()
        self._touch(before, row.email)
        return row

    def charge_row(self, charge_id: str) -> LedgerCharge | None:
        """The ledger row of a charge of this account, if known."""
        return LedgerCharge.objects.filter(**self._key, charge_id=charge_id).first()

    def capture_value(self, row: LedgerCharge) -> tuple[str, int] | None:
        """The capture's value event amount, once per charge (``unique.key`` = the charge id)."""
        if row.captured <= 0 or row.captured_emitted:
            return None
        row.captured_emitted = row.captured
        row.save(update_fields=["captured_emitted", "updated_at"])
        return row.currency.upper(), row.captured

    def refund_value(self, row: LedgerCharge, cumulative: int) -> tuple[str, int] | None:
        """Minus the growth of the cumulative refund beyond the highest already announced."""
        if cumulative <= row.refunded_emitted:
            return None
        delta = cumulative - row.refunded_emitted
        row.refunded_emitted = cumulative
        row.save(update_fields=["refunded_emitted", "updated_at"])
        return row.currency.upper(), -delta

    # --- disputes ------------------------------------------------------------------------

    def dispute(self, obj: dict) -> LedgerDispute:
        """Record a dispute; ``lost`` only ever turns on."""
        row = self._locked(LedgerDispute, dispute_id=obj["id"])
        row.charge_id = object_id(obj.get("charge")) or row.charge_id
        row.amount = max(row.amount, int(obj.get("amount") or 0))
        row.currency = (obj.get("currency") or row.currency).lower()
        if row.is_newer(self.created, self.event_id):
            row.version_created, row.version_event = self.created, self.event_id
            row.status = str(obj.get("status") or "")
        row.lost = row.lost or obj.get("status") == "lost"
        charge = self.charge_row(row.charge_id)
        row.email = charge.email if charge else row.email
        row.save()
        if row.lost:
            if charge is None:  # a placeholder, so the charge's own events fill it later
                charge = self._locked(LedgerCharge, charge_id=row.charge_id)
                charge.currency = charge.currency or row.currency
                charge.save()
            self._touch(charge.email)
        return row

    def lost_value(self, row: LedgerDispute) -> tuple[str, int] | None:
        """Minus the disputed amount, once, when the dispute is lost."""
        if not row.lost or row.lost_emitted:
            return None
        row.lost_emitted = True
        row.save(update_fields=["lost_emitted", "updated_at"])
        return row.currency.upper(), -row.amount

    # --- subscriptions -------------------------------------------------------------------

    def subscription(self, obj: dict) -> LedgerSubscription:
        """Apply a subscription object if it is newer than what is known."""
        row = self._locked(LedgerSubscription, subscription_id=obj["id"])
        if not row.is_newer(self.created, self.event_id):
            return row
        before = row.email
        row.version_created, row.version_event = self.created, self.event_id
        row.customer_id = object_id(obj.get("customer")) or row.customer_id
        row.status = str(obj.get("status") or "")
        row.currency = (obj.get("currency") or row.currency or "").lower()
        row.created = int(obj.get("created") or row.created or 0)
        row.data = subscription_data(obj)
        row.email = self.customer_email(row.customer_id)
        row.save()
        self._touch(before, row.email)
        return row
