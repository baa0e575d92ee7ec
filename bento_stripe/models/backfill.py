"""Where each backfill and reconciliation of a connection stands, one row per Stripe resource."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .accounts import StripeAccount


class BackfillCursor(models.Model):
    """One Stripe list a connection's backfill pages through, and how far it got.

    The cursor (``starting_after``) moves in the same transaction as the page it read is
    applied to the ledger, so a killed worker or a failed task goes on from the last
    committed page and never applies a page twice.
    """

    class Resource(models.TextChoices):
        # In the order they run: the catalogue first, so subscriptions find product names;
        # then people, so later objects find their emails.
        PRODUCTS = "products", _("Products")
        PRICES = "prices", _("Prices")
        CUSTOMERS = "customers", _("Customers")
        CHARGES = "charges", _("Charges")
        DISPUTES = "disputes", _("Disputes")
        SUBSCRIPTIONS = "subscriptions", _("Subscriptions")
        INVOICES = "invoices", _("Invoices")
        #: Last: every person of the connection's ledger, fields recomputed once.
        PEOPLE = "people", _("People's fields")
        #: Reconciliation: Stripe's events list since the last run.
        EVENTS = "events", _("Events (reconciliation)")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed (retried)")
        STOPPED = "stopped", _("Stopped (disconnected)")

    account = models.ForeignKey(
        StripeAccount, on_delete=models.CASCADE, related_name="backfill_cursors"
    )
    resource = models.CharField(_("resource"), max_length=16, choices=Resource.choices)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.PENDING, db_index=True
    )
    #: The id of the last object of the last applied page ("" before the first page).
    starting_after = models.CharField(_("starting after"), max_length=255, blank=True)
    #: Only objects created at or after this UNIX time (``created[gte]``); 0: all of them.
    since = models.BigIntegerField(_("since (UNIX time)"), default=0)
    #: Which run of the cursor this is (a new run restarts from the first page).
    run = models.PositiveIntegerField(_("run"), default=0)
    objects_done = models.PositiveIntegerField(_("objects done"), default=0)
    pages_done = models.PositiveIntegerField(_("pages done"), default=0)
    #: Failed attempts of the current page (reset by a page that goes through).
    attempts = models.PositiveIntegerField(_("failed attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["account", "pk"]
        verbose_name = _("backfill cursor")
        verbose_name_plural = _("backfill cursors")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "resource"], name="bento_stripe_backfill_cursor_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}:{self.resource} ({self.state})"

    #: The states of a cursor that still has work to do (``is_open``; filters use it too).
    OPEN_STATES = (State.PENDING, State.RUNNING, State.FAILED)

    @property
    def is_open(self) -> bool:
        """Whether the cursor still has pages to read (pending, running or failed)."""
        return self.state in self.OPEN_STATES
