"""The outbox rows a unit of work writes: its Bento events, the held rows it releases,
``/batch/subscribers`` rows of fields-only units (docs/how-it-works.rst, "The flow of one
event"). Each event row's ``payload`` is an :class:`~bento_stripe.bento.event.OutboundEvent`
item, stored as it will be sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from ..bento.event import Origin, OutboundEvent, iso_date
from ..ledger.people import FieldChange
from ..ledger.rowcache import chunks
from ..ledger.session import LedgerSession
from ..models import OutboxEvent, SiteModel, StripeAccount, StripeEventRecord
from ..translators.base import BentoEvent

S = OutboxEvent.Status

#: Note of held rows that a disconnect ended.
ENDED_BY_DISCONNECT = "Not sent: the Stripe connection was disconnected before the email was known."


@dataclass
class TranslatedEvent:
    """A Stripe event and the Bento events it gave (for ``event_translated``)."""

    record: StripeEventRecord
    event: dict
    bento_events: list[dict]


@dataclass
class Pending:
    """A Bento event a translator returned, waiting for the end of the unit to be written."""

    record: StripeEventRecord
    event: dict
    bento: BentoEvent
    #: The person's email when the event was added; the end of the unit looks again.
    email: str
    #: The ledger journal's step after its Stripe event (per-event ``$MrrChanged``).
    step: int = 0


def resolve_email(ledger: LedgerSession, event: BentoEvent) -> str:
    """The person of a Bento event: the charge's, else the customer's, else the hint ("")."""
    if event.charge_id:
        row = ledger.charge_row(event.charge_id)
        if row is not None and row.email:
            return row.email
    if event.customer_id:
        email = ledger.customer_email(event.customer_id)
        if email:
            return email
        if event.charge_id:
            return ""  # the customer decides; its email is not known yet
    return event.email_hint


def outbound(pending: Pending, account: StripeAccount, fields: dict) -> OutboundEvent:
    """The Bento event of ``pending`` as Bento gets it, with its person's ``fields``."""
    event, be = pending.event, pending.bento
    origin = Origin(event["id"], account.stripe_user_id, bool(event.get("livemode")), be.object_id)
    return OutboundEvent.about(
        be.type,
        origin,
        email=pending.email,
        date=iso_date(event["created"]),
        fields=fields,
        details=be.details,
        value=be.value,
        # A value is counted once per key; an event without one has no ``unique``.
        unique_key=be.unique_key if be.value is not None else None,
    )


def event_rows(
    pending: list[Pending],
    fields: dict[str, dict],
    *,
    site: SiteModel,
    account: StripeAccount,
    now: datetime,
) -> tuple[list[OutboxEvent], list[TranslatedEvent]]:
    """One row per pending Bento event (held while its person has no email, skipped once
    the connection is disconnected), and the Stripe events they came from."""
    active = account.is_active
    rows: list[OutboxEvent] = []
    translated: dict[int, TranslatedEvent] = {}
    for p in pending:
        item = outbound(p, account, fields.get(p.email, {})).to_item()
        rows.append(
            OutboxEvent(
                site=site,
                connection=account,
                created_at=now,
                kind=OutboxEvent.Kind.EVENT,
                event_type=p.bento.type,
                email=p.email,
                payload=item,
                dedupe_key=f"{p.event['id']}:{p.bento.type}",
                stripe_event_id=p.event["id"],
                stripe_account_id=account.stripe_user_id,
                stripe_person_key=p.bento.customer_id or p.bento.charge_id,
                status=S.PENDING if p.email else (S.HELD if active else S.SKIPPED),
                last_error="" if active else ENDED_BY_DISCONNECT,
            )
        )
        entry = translated.setdefault(p.record.pk, TranslatedEvent(p.record, p.event, []))
        entry.bento_events.append(item)
    return rows, list(translated.values())


def release_held(
    account: StripeAccount, ledger: LedgerSession, *, fields_only: bool
) -> list[OutboxEvent]:
    """Held rows of this connection whose person's email is known now, made pending."""
    if not account.is_active:
        return []
    held = OutboxEvent.objects.filter(connection=account, status=S.HELD)
    if fields_only and not held.exists():
        # A page of a backfill knows hundreds of ids: one look at the (partial) index
        # of held rows saves looking them all up when none is held (the usual case).
        return []
    known = ledger.keys_with_email()
    keys = sorted(known)
    found: list[OutboxEvent] = []
    for chunk in chunks(keys):
        found.extend(held.filter(stripe_person_key__in=chunk))
    now = timezone.now()
    for row in found:
        row.email = known[row.stripe_person_key]
        row.status = S.PENDING
        row.next_attempt_at = now
    return found


def address_released(released: list[OutboxEvent], fields_of: dict[int, dict[str, dict]]) -> None:
    """A released row's stored event, to its person's email with their fields."""
    for row in released:
        event = OutboundEvent.from_item(row.payload)
        row.payload = event.to(row.email, fields_of[row.site_id].get(row.email, {})).to_item()


def end_held_rows(account: StripeAccount) -> int:
    """A disconnect ends the connection's held rows (kept, marked skipped, with the reason)."""
    return OutboxEvent.objects.filter(connection=account, status=S.HELD).update(
        status=S.SKIPPED, last_error=ENDED_BY_DISCONNECT
    )


def waiting_subscriber_rows(site: SiteModel, touched: set[str]) -> set[str]:
    """People of ``site`` touched here who already have a pending ``/batch/subscribers``
    row: it sends their fields as they are at send time, so they need no second one.

    The rows are locked until commit, so a drain cannot take one (and read the fields)
    between this look and the commit of the fields it relies on.
    """
    emails = sorted(touched)
    waiting: set[str] = set()
    for chunk in chunks(emails):
        waiting.update(
            OutboxEvent.objects.select_for_update()
            .filter(
                site=site,
                kind=OutboxEvent.Kind.SUBSCRIBER,
                status=S.PENDING,
                email__in=chunk,
            )
            .values_list("email", flat=True)
        )
    return waiting


def subscriber_rows(
    site: SiteModel,
    account: StripeAccount,
    prefix: str,
    changes: list[FieldChange],
    emails: set[str],
) -> list[OutboxEvent]:
    """A ``/batch/subscribers`` row per person of ``emails`` whose fields changed."""
    return [
        OutboxEvent(
            site=site,
            connection=account,
            kind=OutboxEvent.Kind.SUBSCRIBER,
            event_type="subscriber",
            email=change.email,
            payload={"email": change.email, "fields": change.new},
            dedupe_key=f"{prefix}:{change.email}"[:255],
            stripe_account_id=account.stripe_user_id,
        )
        for change in changes
        if change.email in emails and change.new is not None
    ]
