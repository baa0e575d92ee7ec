"""The one unit of work of every way into the ledger.

A new batch of events, a held person found by a Stripe lookup, a re-route (and next a
backfill page) all go through :class:`UnitOfWork`; they differ only in what they feed
it. It takes the locks in one order (the connection, then its sites by primary key),
owns the ledger session, gathers the touched people, refreshes their ``Subscriber``
rows and writes the outbox rows in bulk (made by ``outbox``, each event as Bento gets it:
``bento.event``), releases held rows whose person became known, and announces one
:class:`ChangeSet` after commit, in one place.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

from django.db import transaction
from django.db.models import F, Model
from django.dispatch import Signal
from django.utils import timezone

from .. import queue, signals
from ..ledger.journal import Journal
from ..ledger.parse import UnreadableObject, listing, object_id, text
from ..ledger.people import FieldChange, Refreshed, refresh_people
from ..ledger.session import LedgerSession
from ..ledger.upsert import insert_new
from ..logs import get_logger
from ..models import (
    OutboxEvent,
    SiteModel,
    StripeAccount,
    StripeEventRecord,
    Subscriber,
    get_site_model,
)
from ..translators.base import BentoEvent, TranslationContext
from . import products
from .lookup import Snapshot
from .movements import beside, command_rows, journal_mrr, movement_rows, sources
from .outbox import (
    ENDED_BY_DISCONNECT,
    Pending,
    TranslatedEvent,
    address_released,
    event_rows,
    release_held,
    resolve_email,
    subscriber_rows,
    waiting_subscriber_rows,
)

#: ``ENDED_BY_DISCONNECT`` lives in ``outbox``; it stays importable from here.
__all__ = ["ENDED_BY_DISCONNECT", "ChangeSet", "UnitOfWork", "announce"]

logger = get_logger("bento_stripe.processing")

S = OutboxEvent.Status


@dataclass
class ChangeSet:
    """Everything a unit of work changed, announced after commit."""

    account: StripeAccount
    #: People whose fields changed, per site.
    field_changes: list[FieldChange] = field(default_factory=list)
    #: Sites that got outbox rows ready to deliver, and how many rows each.
    site_ids: set[int] = field(default_factory=set)
    rows_per_site: dict[int, int] = field(default_factory=dict)
    #: Let the sites' rows gather into fuller batches before their drains are queued
    #: (event batches of the processing task, which fires the gathered drains).
    gather: bool = False
    translated: list[TranslatedEvent] = field(default_factory=list)
    #: Held rows that became pending.
    released: int = 0


class UnitOfWork:
    """``with UnitOfWork(account) as uow:`` — one transaction into the ledger of one connection."""

    def __init__(
        self,
        account: StripeAccount,
        *,
        sites: Iterable[SiteModel] = (),
        gather: bool = False,
        fields_only: str = "",
        defer_people: bool = False,
    ) -> None:
        """``fields_only`` (a dedupe prefix, unique per unit) makes a unit that only sets
        fields: each touched person whose fields changed gets a ``/batch/subscribers`` row,
        and no event or command row is written (the backfill and reconciliation: history
        must never fire Bento automations).

        ``defer_people`` (with ``fields_only``): the touched people are left to a later
        unit that recomputes every person of the connection (the backfill's last step),
        except people who lost a ledger row here (nobody recomputes them later) and
        people of released held rows (their rows need their fields now)."""
        if defer_people and not fields_only:
            raise TypeError("Only a fields-only unit of work can defer its people.")
        self._account_pk = account.pk
        self._fields_only = fields_only
        self._defer_people = defer_people
        self._extra_site_ids = {s.pk for s in sites}
        self._atomic = transaction.atomic()
        self.changes = ChangeSet(account=account, gather=gather)
        self._pending: list[Pending] = []
        #: site id → (emails to recompute, send their fields, keep people with no rows)
        self._recompute: dict[int, tuple[set[str], str, bool]] = {}
        #: record id → (status, note) written at the end.
        self._outcomes: dict[int, tuple[str, str]] = {}

    # --- the transaction ----------------------------------------------------------------

    def __enter__(self) -> UnitOfWork:
        self._atomic.__enter__()
        try:
            # Lock order, everywhere: the connection, then its sites by primary key.
            self.account = StripeAccount.objects.select_for_update().get(pk=self._account_pk)
            site_ids = sorted({self.account.site_id, *self._extra_site_ids})
            locked = (
                get_site_model().objects.select_for_update().filter(pk__in=site_ids).order_by("pk")
            )
            self.sites: dict[int, SiteModel] = {s.pk: s for s in locked}
            self.site = self.sites[self.account.site_id]
            self.account.site = self.site
            self.changes.account = self.account
            self.ledger = LedgerSession(self.account.stripe_user_id, self.account.livemode)
            if not self._fields_only:
                self.ledger.journal = Journal()
        except BaseException as error:
            self._atomic.__exit__(type(error), error, error.__traceback__)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            try:
                self._finish()
            except BaseException as error:
                self._atomic.__exit__(type(error), error, error.__traceback__)
                raise
            changes = self.changes
            transaction.on_commit(lambda: announce(changes), robust=True)
        self._atomic.__exit__(exc_type, exc, tb)

    # --- what entry points feed ---------------------------------------------------------

    def apply_snapshots(self, snapshots: Iterable[Snapshot]) -> int:
        """Apply objects read at Stripe, each with its own version (read time, ``"api"``).

        Customers, coupons and charges (lookups), and disputes, subscriptions and invoices
        (the backfill); an invoice only tells its customer's email, as its events do.
        Returns how many were applied (an unreadable one is logged and skipped).
        """
        applied = 0
        for kind, obj, version in snapshots:
            try:
                if kind == "customer":
                    self.ledger.customer(obj, version=version)
                elif kind == "coupon":
                    self.ledger.remember_coupon(obj)
                elif kind in products.KINDS:
                    products.apply_snapshot(self.ledger.catalogue, kind, obj, version)
                elif kind == "invoice":
                    products.remember_invoice(self.ledger, obj, version)
                    self.ledger.learn_email(
                        object_id(obj.get("customer")), text(obj, "customer_email")
                    )
                else:
                    self.ledger.at(*version)
                    if kind == "dispute":
                        self.ledger.dispute(obj)
                    elif kind == "subscription":
                        self._remember_discounts(obj)
                        self.ledger.subscription(obj)
                    else:
                        self.ledger.charge(obj)
                applied += 1
            except UnreadableObject as error:  # the events that named it still apply
                logger.warning(
                    "Stripe's %s %s is unreadable: %s",
                    kind,
                    obj.get("id"),
                    error,
                    account=self.account.stripe_user_id,
                )
        return applied

    def _remember_discounts(self, subscription: dict) -> None:
        """A subscription's expanded discounts, remembered for its customer as their
        ``customer.discount.*`` events would be: a later event naming them by id only
        (current API versions) still finds their coupons."""
        for discount in listing(subscription.get("discounts"), "subscription.discounts"):
            if isinstance(discount, dict) and discount.get("customer"):
                self.ledger.customer_discount(discount)

    def add_events(
        self, record: StripeEventRecord, ctx: TranslationContext, events: list[BentoEvent]
    ) -> None:
        """Queue the Bento events a translator returned for ``record`` (written at the end)."""
        if self._fields_only:
            raise TypeError("A fields-only unit of work sends no Bento events.")
        step = self.ledger.journal.step() if self.ledger.journal is not None else 0
        for be in events:
            email = resolve_email(self.ledger, be)
            self.ledger.touched.update([email] if email else [])
            self._pending.append(Pending(record, ctx.event, be, email, step))
        self._outcomes[record.pk] = (StripeEventRecord.Status.PROCESSED, "")

    def skip(self, record: StripeEventRecord, status: str, note: str) -> None:
        """Record that ``record`` was not applied, and why."""
        self._outcomes[record.pk] = (status, note)

    def recompute(
        self, site: SiteModel, emails: Iterable[str], *, send: str = "", keep_empty: bool = False
    ) -> None:
        """Recompute people on a locked ``site``; with ``send`` (a dedupe prefix), queue their
        changed fields for Bento as ``/batch/subscribers`` rows."""
        wanted, _, _ = self._recompute.get(site.pk, (set(), "", False))
        wanted.update(e for e in emails if e)
        self._recompute[site.pk] = (wanted, send, keep_empty)

    # --- the end of the unit ------------------------------------------------------------

    def _finish(self) -> None:
        now = timezone.now()
        # A later event of the batch may have told the email of an earlier one's person, or
        # changed it: the rows go to the person's email at the end of the batch, after its
        # change_email command (an event left on the old email would bring the old person
        # back in Bento after the move).
        for pending in self._pending:
            email = resolve_email(self.ledger, pending.bento) or pending.email
            if email != pending.email:
                pending.email = email
                self.ledger.touched.add(email)
        released = release_held(self.account, self.ledger, fields_only=bool(self._fields_only))
        self.ledger.flush()
        touched: dict[int, set[str]] = defaultdict(set)
        touched[self.site.pk].update(
            self.ledger.left if self._defer_people else self.ledger.touched
        )
        for row in released:
            touched[row.site_id].add(row.email)
        fields_of: dict[int, dict[str, dict]] = {}
        main = Refreshed({}, [])
        rows: list[OutboxEvent] = []
        for site_id in sorted(set(touched) | set(self._recompute)):
            site = self.sites.get(site_id) or get_site_model().objects.get(pk=site_id)
            extra, send, keep_empty = self._recompute.get(site_id, (set(), "", False))
            refreshed = refresh_people(site, touched[site_id] | extra, keep_empty=keep_empty)
            fields_of[site_id] = refreshed.fields
            main = refreshed if site_id == self.site.pk else main
            self.changes.field_changes.extend(refreshed.changes)
            if self._fields_only:
                everyone = touched[site_id] | extra
                everyone -= waiting_subscriber_rows(site, everyone)
                rows.extend(
                    subscriber_rows(
                        site, self.account, self._fields_only, refreshed.changes, everyone
                    )
                )
            elif send:
                rows.extend(subscriber_rows(site, self.account, send, refreshed.changes, extra))
        if not self._fields_only:
            moves = movement_rows(
                main,
                sources([(p.event, p.bento, p.email, p.step) for p in self._pending], released),
                site=self.site,
                account=self.account,
                now=now,
                moved_to=frozenset(c.new for c in self.ledger.email_changes),
                mrr_at=journal_mrr(self.ledger.journal, main),
            )
            events, translated = event_rows(
                self._pending, main.fields, site=self.site, account=self.account, now=now
            )
            self.changes.translated.extend(translated)
            rows[:0] = beside(
                command_rows(self.ledger, self.site, self.account, now) + events, moves
            )
        else:
            rows[:0] = command_rows(self.ledger, self.site, self.account, now, self._fields_only)
        if rows:
            insert_new(OutboxEvent, rows)
        ready = [r.site_id for r in rows if r.status == S.PENDING]
        ready += [r.site_id for r in released]
        for site_id in ready:
            counts = self.changes.rows_per_site
            counts[site_id] = counts.get(site_id, 0) + 1
        self.changes.site_ids.update(ready)
        address_released(released, fields_of)
        if released:
            OutboxEvent.objects.bulk_update(
                released, ["email", "payload", "status", "next_attempt_at"]
            )
            self.changes.released = len(released)
        self._write_outcomes(now)

    def _write_outcomes(self, now: datetime) -> None:
        groups: dict[tuple[str, str], list[int]] = defaultdict(list)
        for pk, outcome in self._outcomes.items():
            groups[outcome].append(pk)
        for (status, note), ids in groups.items():
            StripeEventRecord.objects.filter(pk__in=ids).update(
                status=status,
                note=note[:2000],
                site=self.site,
                processed_at=now,
                attempts=F("attempts") + 1,
                claim_owner="",
                claimed_until=None,
            )


def announce(changes: ChangeSet) -> None:
    """After commit: queue deliveries, then tell host projects (each step on its own)."""
    if changes.site_ids:
        try:
            if changes.gather:
                queue.defer_drains(changes.rows_per_site)
            else:
                queue.drain_sites(changes.site_ids)
        except Exception:  # the delivery sweep picks the rows up within a minute
            logger.exception(
                "Could not queue delivery of sites %s",
                sorted(changes.site_ids),
                account=changes.account.stripe_user_id,
            )
        _send(signals.outbox_ready, OutboxEvent, site_ids=set(changes.site_ids))
    for change in changes.field_changes:
        _send(
            signals.value_changed,
            Subscriber,
            site=change.site,
            email=change.email,
            old_fields=change.old,
            new_fields=change.new,
        )
    if changes.translated and signals.event_translated.has_listeners(StripeEventRecord):
        for item in changes.translated:
            _send(
                signals.event_translated,
                StripeEventRecord,
                event=item.event,
                account=changes.account,
                site=changes.account.site,
                record=item.record,
                bento_events=item.bento_events,
            )


def _send(signal: Signal, sender: type[Model], **kwargs: Any) -> None:
    signals.send_robust(signal, sender, **kwargs)
