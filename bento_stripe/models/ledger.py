"""The ledger's rows: what is known of each Stripe customer, charge, dispute and subscription."""

from __future__ import annotations

from typing import ClassVar, Self

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class LedgerRow(models.Model):
    """Common columns: the connected account and mode an object belongs to."""

    stripe_account_id = models.CharField(_("Stripe account"), max_length=255)
    livemode = models.BooleanField(_("live mode"), default=False)
    #: The person's email (lower-case) as resolved now; "" while unknown.
    email = models.CharField(_("email"), max_length=254, blank=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    #: Every concrete table has Django's default manager (declared for type checkers).
    objects: ClassVar[models.Manager[Self]]

    class Meta:
        abstract = True


class VersionedRow(LedgerRow):
    """A row whose state follows the newest Stripe event about it (by ``created``, then id)."""

    version_created = models.BigIntegerField(default=0)
    version_event = models.CharField(max_length=255, blank=True)

    class Meta:
        abstract = True

    def is_newer(self, created: int, event_id: str) -> bool:
        """Whether an event (``created``, ``event_id``) is newer than the state kept here."""
        return (created, event_id) > (self.version_created, self.version_event)


class LedgerCustomer(VersionedRow):
    """A Stripe customer of a connected account: email, name, currency."""

    customer_id = models.CharField(_("Stripe customer"), max_length=255)
    name = models.CharField(_("name"), max_length=255, blank=True)
    currency = models.CharField(_("currency"), max_length=8, blank=True)
    created = models.BigIntegerField(_("created (UNIX time)"), default=0)
    deleted = models.BooleanField(_("deleted"), default=False)
    #: The customer-wide coupon and the discounts seen for this customer, as read by
    #: ``bento_stripe.ledger.session.LedgerSession.customer_discount``.
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        verbose_name = _("ledger customer")
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_account_id", "livemode", "customer_id"],
                name="bento_stripe_ledgercustomer_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} <{self.email}>"


class LedgerCharge(LedgerRow):
    """A charge's money in minor units; every amount only moves forward."""

    charge_id = models.CharField(_("Stripe charge"), max_length=255)
    customer_id = models.CharField(_("Stripe customer"), max_length=255, blank=True)
    #: The email written on the charge itself (billing details or receipt email).
    own_email = models.CharField(_("charge email"), max_length=254, blank=True)
    currency = models.CharField(_("currency"), max_length=8, blank=True)
    created = models.BigIntegerField(_("created (UNIX time)"), default=0)
    captured = models.BigIntegerField(_("captured"), default=0)
    refunded = models.BigIntegerField(_("refunded"), default=0)
    #: Captured amount already announced in a value event (``unique.key`` = the charge id).
    captured_emitted = models.BigIntegerField(default=0)
    #: Highest cumulative refund already announced in a value event.
    refunded_emitted = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("ledger charge")
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_account_id", "livemode", "charge_id"],
                name="bento_stripe_ledgercharge_unique",
            )
        ]
        indexes = [
            # A customer's charges are read by customer (preload, email moves, backfill pages).
            models.Index(
                fields=["stripe_account_id", "livemode", "customer_id"],
                name="bento_stripe_charge_customer",
            ),
        ]

    def __str__(self) -> str:
        return self.charge_id


class LedgerDispute(VersionedRow):
    """A dispute of a charge; once lost, its amount counts against the person's value."""

    dispute_id = models.CharField(_("Stripe dispute"), max_length=255)
    charge_id = models.CharField(_("Stripe charge"), max_length=255)
    amount = models.BigIntegerField(_("amount"), default=0)
    currency = models.CharField(_("currency"), max_length=8, blank=True)
    status = models.CharField(_("status"), max_length=64, blank=True)
    lost = models.BooleanField(_("lost"), default=False)
    lost_emitted = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("ledger dispute")
        indexes = [
            # A person's value reads the lost disputes of their charges; lost ones are few.
            models.Index(
                fields=["stripe_account_id", "livemode", "charge_id"],
                condition=Q(lost=True),
                name="bento_stripe_dispute_lost",
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_account_id", "livemode", "dispute_id"],
                name="bento_stripe_ledgerdispute_unique",
            )
        ]

    def __str__(self) -> str:
        return self.dispute_id


class LedgerSubscription(VersionedRow):
    """A subscription's newest known state: status, items, prices, quantities, coupons."""

    subscription_id = models.CharField(_("Stripe subscription"), max_length=255)
    customer_id = models.CharField(_("Stripe customer"), max_length=255, blank=True)
    status = models.CharField(_("status"), max_length=32, blank=True)
    currency = models.CharField(_("currency"), max_length=8, blank=True)
    created = models.BigIntegerField(_("created (UNIX time)"), default=0)
    #: Items and coupons as read by ``bento_stripe.ledger.parse.subscription_data``.
    data = models.JSONField(_("data"), default=dict)

    class Meta:
        verbose_name = _("ledger subscription")
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_account_id", "livemode", "subscription_id"],
                name="bento_stripe_ledgersubscription_unique",
            )
        ]
        indexes = [
            models.Index(
                fields=["stripe_account_id", "livemode", "customer_id"],
                name="bento_stripe_sub_customer",
            ),
        ]

    def __str__(self) -> str:
        return self.subscription_id


class LedgerInvoice(models.Model):
    """The items of an invoice the app has seen, so its charge's events can name them.

    Compact: the named items as the invoice's Bento event carried them, and the payment
    ids Stripe's older API versions link it by (its charge, its payment intent). Newest
    version wins; rows are pruned ``RETENTION_DAYS`` after they last changed
    (docs/reference/events.rst).
    """

    stripe_account_id = models.CharField(_("Stripe account"), max_length=255)
    livemode = models.BooleanField(_("live mode"), default=False)
    invoice_id = models.CharField(_("Stripe invoice"), max_length=255)
    version_created = models.BigIntegerField(default=0)
    version_event = models.CharField(max_length=255, blank=True)
    charge_id = models.CharField(_("Stripe charge"), max_length=255, blank=True)
    payment_intent_id = models.CharField(_("Stripe payment intent"), max_length=255, blank=True)
    #: ``details.items`` of the invoice (``bento_stripe.ledger.items.named``).
    items = models.JSONField(_("items"), default=list, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

    objects: ClassVar[models.Manager[Self]]

    class Meta:
        verbose_name = _("ledger invoice")
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_account_id", "livemode", "invoice_id"],
                name="bento_stripe_ledgerinvoice_unique",
            )
        ]
        indexes = [
            models.Index(
                fields=["stripe_account_id", "livemode", "charge_id"],
                name="bento_stripe_invoice_charge",
            ),
            models.Index(
                fields=["stripe_account_id", "livemode", "payment_intent_id"],
                name="bento_stripe_invoice_intent",
            ),
        ]

    def __str__(self) -> str:
        return self.invoice_id

    def is_newer(self, created: int, event_id: str) -> bool:
        """Whether a version (``created``, ``event_id``) is newer than the one kept here."""
        return (created, event_id) > (self.version_created, self.version_event)
