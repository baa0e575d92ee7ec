"""Erasure markers: a person erased at their request is not rebuilt by later Stripe events."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ErasureMarker(models.Model):
    """One erased person of one connection (account and mode), by Stripe customer or email.

    The email itself is never stored: only a keyed digest of it (see
    ``bento_stripe.operations.privacy.email_digest``), so a dump of the table names nobody.
    A later event about the customer (or, with ``customer_id`` empty, naming the email) is
    recorded as ignored with its payload redacted, until the customer's email changes or
    an admin deletes the marker.
    """

    stripe_account_id = models.CharField(_("Stripe account"), max_length=255)
    livemode = models.BooleanField(_("live mode"), default=False)
    #: The erased person's Stripe customer; "" for the marker that matches by email only.
    customer_id = models.CharField(_("Stripe customer"), max_length=255, blank=True)
    email_digest = models.CharField(_("email digest"), max_length=64)
    created_at = models.DateTimeField(_("erased at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("erased by"),
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("erasure marker")
        verbose_name_plural = _("erasure markers")
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_account_id", "livemode", "customer_id", "email_digest"],
                name="bento_stripe_erasure_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["stripe_account_id", "livemode"], name="bento_stripe_erasure_acct"
            ),
        ]

    def __str__(self) -> str:
        who = self.customer_id or "email"
        return f"erased {who} in {self.stripe_account_id}"
