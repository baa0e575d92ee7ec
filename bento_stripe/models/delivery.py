"""What is waiting for Bento: the outbox, and each person's current fields per site."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..conf import site_model_label
from .accounts import StripeAccount


class Subscriber(models.Model):
    """A person's current Bento fields on a site, kept by the ledger, read at send time."""

    site = models.ForeignKey(
        site_model_label(), on_delete=models.CASCADE, related_name="bento_subscribers"
    )
    email = models.EmailField(_("email"), max_length=254)
    #: Flat Bento fields (``lifetime_value``, ``mrr``, ``plan``, ...), JSON-safe values.
    fields = models.JSONField(_("fields"), default=dict, blank=True)
    #: Whether the person's ``mrr`` was ever above 0 here: a rise from 0 is then a
    #: ``reactivation``, not a ``new`` movement (``$MrrChanged``).
    had_mrr = models.BooleanField(_("had MRR"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["site", "email"]
        verbose_name = _("subscriber")
        verbose_name_plural = _("subscribers")
        constraints = [
            models.UniqueConstraint(
                fields=["site", "email"], name="bento_stripe_subscriber_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.email


class OutboxQuerySet(models.QuerySet["OutboxEvent"]):
    """The held rows' lookup timer by its name (it is kept in ``next_attempt_at``)."""

    def due_for_lookup(self, before: datetime) -> OutboxQuerySet:
        """Held rows whose person's next lookup at Stripe is due by ``before``."""
        return self.filter(status=OutboxEvent.Status.HELD, next_attempt_at__lte=before)

    def postpone_lookup(self, until: datetime) -> int:
        """Put the next lookup of these held rows' person off ``until`` then."""
        return self.update(next_attempt_at=until)


class OutboxEvent(models.Model):
    """One Bento request item waiting for delivery, written in the ledger's transaction."""

    class Kind(models.TextChoices):
        EVENT = "event", _("Event (/batch/events)")
        SUBSCRIBER = "subscriber", _("Subscriber fields (/batch/subscribers)")
        COMMAND = "command", _("Command (/fetch/commands)")

    class Status(models.TextChoices):
        HELD = "held", _("Held (no email yet)")
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        DEAD = "dead", _("Dead (attempts exhausted)")
        SKIPPED = "skipped", _("Skipped")

    #: No index of its own: the dedupe constraint's index starts with it.
    site = models.ForeignKey(
        site_model_label(), on_delete=models.CASCADE, related_name="bento_outbox", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.EVENT)
    #: Bento event type (``$ChargeSucceeded``), or the command name, for filters.
    event_type = models.CharField(_("type"), max_length=100, blank=True, db_index=True)
    email = models.EmailField(_("email"), max_length=254, blank=True, db_index=True)
    #: The Bento item as it will be sent; ``fields`` are refreshed from Subscriber at send time.
    payload = models.JSONField(_("payload"), default=dict)
    #: Unique per site: the same Stripe event never gives the same Bento item twice.
    dedupe_key = models.CharField(_("dedupe key"), max_length=255)
    stripe_event_id = models.CharField(
        _("Stripe event id"), max_length=255, blank=True, db_index=True
    )
    stripe_account_id = models.CharField(_("Stripe account"), max_length=255, blank=True)
    #: The Stripe id the row's person is known by: their customer (``cus_...``), or for a
    #: guest charge the charge (``ch_...``); a held row is released, or looked up at Stripe,
    #: by it (``processing/held.py``).
    stripe_person_key = models.CharField(_("Stripe person key"), max_length=255, blank=True)
    #: The connection whose event made the row: only its own events release a held row.
    connection = models.ForeignKey(
        StripeAccount,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("connection"),
    )
    #: No index of its own: the statuses delivery looks for have the partial indexes below,
    #: and the others (delivered, skipped) are nearly every row.
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    #: Pending and failed rows: when delivery next tries them. Held rows: since when their
    #: person is due to be looked up at Stripe (``SWEEP_AFTER`` later; ``OutboxQuerySet``'s
    #: ``due_for_lookup`` and ``postpone_lookup`` name that use). A row never waits for
    #: both, and the release that makes a held row pending sets this to now in the same
    #: write, so the two timers share one column rather than two. Its indexes are partial:
    #: pending rows by this time (delivery), held rows through their person's index.
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    #: While ``sending``: when the worker's claim lapses and another worker may resend the row.
    lease_expires_at = models.DateTimeField(_("lease expires at"), null=True, blank=True)
    #: The Bento request the row last went out in (one id per batch).
    batch_id = models.CharField(_("batch"), max_length=32, blank=True)

    objects = OutboxQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        constraints = [
            models.UniqueConstraint(
                fields=["site", "dedupe_key"], name="bento_stripe_outbox_dedupe"
            ),
        ]
        # Delivery looks at the outbox many times a second while rows wait; each of its
        # lookups reads only the rows it can find (partial indexes), never the delivered
        # ones, which are nearly the whole table until they are pruned. Every index is
        # written on each status change (no heap-only update), so there are few.
        indexes = [
            # Rows due now: pending by their time, sending by their lapsed lease.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="bento_stripe_outbox_due",
            ),
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(status="sending"),
                name="bento_stripe_outbox_lapsed",
            ),
            # A site's queue in order (the head of it is the next batch).
            models.Index(
                fields=["site", "created_at", "id"],
                condition=Q(status__in=["pending", "sending"]),
                name="bento_stripe_outbox_queue",
            ),
            # Rows not delivered or skipped, by site and status: the health check's dead
            # rows, the metrics' counts, ``bento_stripe_replay --failed``.
            models.Index(
                fields=["site", "status"],
                condition=Q(status__in=["pending", "sending", "failed", "held", "dead"]),
                name="bento_stripe_outbox_open",
            ),
            # Held rows are found by their person's Stripe key, never scanned.
            models.Index(
                fields=["connection", "stripe_person_key"],
                condition=Q(status="held"),
                name="bento_stripe_outbox_held",
            ),
            # The health check's oldest undelivered row, without reading delivered ones.
            models.Index(
                fields=["created_at"],
                condition=Q(status__in=["pending", "sending", "failed"]),
                name="bento_stripe_outbox_undeliv",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type or self.kind} → {self.email or '?'} ({self.status})"
