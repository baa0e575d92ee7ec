"""Stripe events received on the webhook: each recorded once; the table is the work queue."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..conf import site_model_label
from .accounts import StripeAccount

#: Statuses of events still to be applied (claimed by processing workers).
WAITING_STATUSES = ("received", "failed")


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
    #: No index of its own: the waiting statuses have the partial indexes below, and the
    #: others (nearly every row) are not worth one on a table written per event.
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED
    )
    #: Why an event was ignored, or the last processing error.
    note = models.TextField(_("note"), blank=True)
    #: The site the event was routed to at processing time.
    site = models.ForeignKey(
        site_model_label(), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    #: The worker that claimed the event, while it applies it ("" when not claimed).
    claim_owner = models.CharField(_("claimed by"), max_length=32, blank=True)
    #: Until when the claim holds; for a failed event, when it may be tried again.
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    #: When retention stripped the record to what dedupe needs (payload and note removed,
    #: the unique Stripe event id kept); the compact row is deleted RETENTION_DAYS later.
    pruned_at = models.DateTimeField(_("pruned at"), null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        indexes = [
            # The queue: waiting events in arrival order, and per connected account.
            models.Index(
                fields=["id"],
                condition=Q(status__in=WAITING_STATUSES),
                name="bento_stripe_evt_waiting",
            ),
            models.Index(
                fields=["stripe_account_id", "livemode", "id"],
                condition=Q(status__in=WAITING_STATUSES),
                name="bento_stripe_evt_waiting_acct",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.stripe_event_id} ({self.status})"


class Reroute(models.Model):
    """A connection moved to another site: its people are recomputed by a queued, retried task."""

    account = models.ForeignKey(StripeAccount, on_delete=models.CASCADE, related_name="+")
    old_site = models.ForeignKey(site_model_label(), on_delete=models.CASCADE, related_name="+")
    new_site = models.ForeignKey(site_model_label(), on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("re-route")
        verbose_name_plural = _("re-routes")

    def __str__(self) -> str:
        return f"{self.account} → site {self.new_site_id}"
