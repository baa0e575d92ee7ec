"""Erasure markers at processing time: a person erased at their request is not rebuilt.

Processing asks the guard of a connection about each event before translating it. A
connection without markers (``StripeAccount.has_erasures`` off, nearly all of them)
costs nothing; one with markers costs one query per batch. See docs/operations/privacy.rst.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.utils import timezone
from django.utils.crypto import salted_hmac
from djstripe.models import WebhookEventTrigger

from ..models import ErasureMarker, StripeAccount, StripeEventRecord

#: The note of an event ignored because its person was erased.
ERASED_NOTE = "erased at the person's request (an admin can lift the erasure marker)"

#: Where Stripe objects carry an email (the object's own, a charge's, a session's).
_EMAIL_PATHS = (
    ("email",),
    ("receipt_email",),
    ("customer_email",),
    ("billing_details", "email"),
    ("customer_details", "email"),
)


def normalise(email: str) -> str:
    """An email as the ledger keeps it (trimmed, lower-case)."""
    return (email or "").strip().lower()


def email_digest(email: str) -> str:
    """A keyed digest of an email (HMAC-SHA256 with the project's SECRET_KEY): markers
    match a person by it and never store the email itself."""
    return salted_hmac("bento_stripe.erasure", normalise(email), algorithm="sha256").hexdigest()


def _dig(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def emails_of(obj: dict) -> Iterator[str]:
    """The emails a Stripe object names (lower-case)."""
    for path in _EMAIL_PATHS:
        value = _dig(obj, path)
        if isinstance(value, str) and value.strip():
            yield normalise(value)


def customer_of(obj: dict) -> str:
    """The Stripe customer an object is (a customer) or belongs to; "" when none."""
    if obj.get("object") == "customer":
        return str(obj.get("id") or "")
    customer = obj.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    return customer if isinstance(customer, str) else ""


class ErasureGuard:
    """The erasure markers of one connection, read once per batch (none: no query)."""

    def __init__(self, account: StripeAccount) -> None:
        self.account = account
        markers = (
            list(
                ErasureMarker.objects.filter(
                    stripe_account_id=account.stripe_user_id, livemode=account.livemode
                )
            )
            if account.has_erasures
            else []
        )
        self._customers: dict[str, set[str]] = {}
        self._digests: set[str] = set()
        for marker in markers:
            self._digests.add(marker.email_digest)
            if marker.customer_id:
                self._customers.setdefault(marker.customer_id, set()).add(marker.email_digest)

    def __bool__(self) -> bool:
        return bool(self._digests)

    def blocks(self, obj: dict, *, lift: bool = True) -> bool:
        """Whether an event about ``obj`` concerns an erased person.

        A customer object of a marked customer whose email is no longer the erased one
        lifts the customer's marker (the customer now belongs to someone else) and is
        not blocked; with ``lift`` off it is only reported as not blocked.
        """
        if not self:
            return False
        customer = customer_of(obj)
        digests = {email_digest(e) for e in emails_of(obj)}
        if customer in self._customers:
            if obj.get("object") == "customer" and digests and not digests & self._digests:
                if lift:
                    self.lift_customer(customer)
                return False
            return True
        return bool(digests & self._digests)

    def lift_customer(self, customer: str) -> None:
        """Delete a customer's markers (its email changed) in the caller's transaction."""
        ErasureMarker.objects.filter(
            stripe_account_id=self.account.stripe_user_id,
            livemode=self.account.livemode,
            customer_id=customer,
        ).delete()
        self._customers.pop(customer, None)
        refresh_flag(self.account.stripe_user_id, self.account.livemode)


def refresh_flag(stripe_account_id: str, livemode: bool) -> None:
    """Set ``has_erasures`` of the connections of an account and mode from their markers."""
    exists = ErasureMarker.objects.filter(
        stripe_account_id=stripe_account_id, livemode=livemode
    ).exists()
    StripeAccount.objects.filter(stripe_user_id=stripe_account_id, livemode=livemode).exclude(
        has_erasures=exists
    ).update(has_erasures=exists)


def redact(record: StripeEventRecord) -> None:
    """Strip an ignored event of an erased person to its Stripe id (kept for dedupe), and
    delete the webhook request kept with it (``KEEP_WEBHOOK_TRIGGERS``)."""
    StripeEventRecord.objects.filter(pk=record.pk).update(
        payload={}, trigger=None, pruned_at=timezone.now()
    )
    if record.trigger_id:
        WebhookEventTrigger.objects.filter(pk=record.trigger_id).delete()
