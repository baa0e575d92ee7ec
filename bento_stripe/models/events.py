"""Stripe events received on the webhook: each recorded once, then processed by a task."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .teams import Site


class StripeEventRecord(models.Model):
    """One verified Stripe event, stored once by its Stripe id, with how it was processed."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received (waiting for the task)")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored (not forwarded)")
        FAILED = "failed", _("Failed (will be retried)")

    stripe_event_id = models.CharField(_("Stripe event id"), max_length=255, unique=True)
    event_type = models.CharField(_("type"), max_length=255, db_index=True)
    #: The connected account (``acct_...``) the event belongs to; "" for platform events.
    stripe_account_id = models.CharField(
        _("Stripe account"), max_length=255, blank=True, db_index=True
    )
    livemode = models.BooleanField(_("live mode"), default=False)
    #: The Stripe event's ``created``, as Stripe sent it (UNIX seconds).
    created = models.BigIntegerField(_("created (UNIX time)"))
    api_version = models.CharField(_("API version"), max_length=64, blank=True)
    payload = models.JSONField(_("payload"))
    trigger = models.ForeignKey(
        "djstripe.WebhookEventTrigger",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )
    #: Why an event was ignored, or the last processing error.
    note = models.TextField(_("note"), blank=True)
    #: The site the event was routed to at processing time.
    site = models.ForeignKey(
        Site, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")

    def __str__(self) -> str:
        return f"{self.event_type} {self.stripe_event_id} ({self.status})"
