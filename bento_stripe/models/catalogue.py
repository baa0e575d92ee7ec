"""The product catalogue of a connection: the products and prices the app has seen.

Kept per Stripe account and mode, newest version wins (an event's ``created`` and id, or
the time a page or lookup read it), so naming a product in a Bento event or field costs no
Stripe call once it is known. A deleted product keeps its last name.
"""

from __future__ import annotations

from typing import ClassVar, Self

from django.db import models
from django.utils.translation import gettext_lazy as _


class CatalogueRow(models.Model):
    """Common columns: the connected account and mode, and the version of what is kept."""

    stripe_account_id = models.CharField(_("Stripe account"), max_length=255)
    livemode = models.BooleanField(_("live mode"), default=False)
    version_created = models.BigIntegerField(default=0)
    version_event = models.CharField(max_length=255, blank=True)
    deleted = models.BooleanField(_("deleted"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects: ClassVar[models.Manager[Self]]

    class Meta:
        abstract = True

    def is_newer(self, created: int, event_id: str) -> bool:
        """Whether a version (``created``, ``event_id``) is newer than the one kept here."""
        return (created, event_id) > (self.version_created, self.version_event)


class CatalogueProduct(CatalogueRow):
    """A Stripe product of a connected account: its name is what Bento events and fields show."""

    product_id = models.CharField(_("Stripe product"), max_length=255)
    name = models.CharField(_("name"), max_length=255, blank=True)
    active = models.BooleanField(_("active"), default=True)
    #: When a lookup at Stripe last found no such product (404); null once it is known.
    #: The processing task asks again only a day later (docs/reference/events.rst).
    missing_at = models.DateTimeField(_("missing at Stripe since"), null=True, blank=True)

    class Meta:
        verbose_name = _("catalogue product")
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_account_id", "livemode", "product_id"],
                name="bento_stripe_catalogueproduct_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name or self.product_id}"


class CataloguePrice(CatalogueRow):
    """A Stripe price (or legacy plan) of a connected account: its product and nickname."""

    price_id = models.CharField(_("Stripe price"), max_length=255)
    product_id = models.CharField(_("Stripe product"), max_length=255, blank=True)
    nickname = models.CharField(_("nickname"), max_length=255, blank=True)
    currency = models.CharField(_("currency"), max_length=8, blank=True)
    #: The unit amount in minor units as an exact decimal string ("" for none).
    unit_amount = models.CharField(_("unit amount"), max_length=64, blank=True)
    #: ``month``, ``year``, ``week``, ``day``, or "" for a one-time price.
    interval = models.CharField(_("interval"), max_length=8, blank=True)
    interval_count = models.PositiveIntegerField(_("interval count"), default=1)

    class Meta:
        verbose_name = _("catalogue price")
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_account_id", "livemode", "price_id"],
                name="bento_stripe_catalogueprice_unique",
            )
        ]

    def __str__(self) -> str:
        return self.nickname or self.price_id
