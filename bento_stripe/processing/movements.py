"""``$MrrChanged`` and ``change_email`` rows a unit of work writes beside its events.

``$MrrChanged``: the event that tells a Bento flow a person's MRR moved, and how.

It depends only on the person's fields before and after a unit of work's events (the
``mrr`` field: their main currency, in major units), so a duplicated or late event that
changes nothing sends nothing. It goes with the last event of the unit that is about the
person (a subscription's, when one is), with ``unique.key`` = ``<its Stripe event id>:mrr``.
Only units that send events make it: a re-route, a backfill and a reconciliation set
fields only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ..ledger.people import FieldChange
from ..ledger.session import LedgerSession
from ..models import OutboxEvent, SiteModel, StripeAccount
from ..translators.base import BentoEvent, iso_date

#: The Bento event type of a movement.
MRR_CHANGED = "$MrrChanged"
#: ``details.movement`` values, in the docs' order.
MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation")


@dataclass(frozen=True)
class Source:
    """A Bento event of the unit that a movement can go with."""

    email: str
    stripe_event_id: str
    date: str
    customer_id: str
    #: The subscription the event is about ("" when none).
    subscription: str


def _number(fields: dict | None) -> Decimal:
    value = (fields or {}).get("mrr")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return Decimal(0)
    return Decimal(str(value))


def movement(previous: Decimal, now: Decimal, had_mrr: bool) -> str:
    """The kind of an MRR move ("" when it did not move)."""
    if previous == now:
        return ""
    if previous == 0:
        return "reactivation" if had_mrr else "new"
    if now == 0:
        return "churn"
    return "expansion" if now > previous else "contraction"


def _pick(sources: list[Source]) -> Source:
    """The last event about a subscription, else the last event."""
    with_subscription = [s for s in sources if s.subscription]
    return (with_subscription or sources)[-1]


def movement_rows(
    changes: list[FieldChange],
    sources: list[Source],
    *,
    site: SiteModel,
    account: StripeAccount,
    now: datetime,
    moved_to: frozenset[str] = frozenset(),
) -> list[OutboxEvent]:
    """One ``$MrrChanged`` row per person of ``site`` whose ``mrr`` moved in ``changes``.

    A person who arrives on ``site`` by an email change (``moved_to``, with no fields here
    before) brings their MRR along with ``change_email``: that is no move."""
    by_email: dict[str, list[Source]] = {}
    for source in sources:
        if source.email:
            by_email.setdefault(source.email, []).append(source)
    rows: list[OutboxEvent] = []
    for change in changes:
        if change.site.pk != site.pk or change.new is None or change.email not in by_email:
            continue
        if change.old is None and change.email in moved_to:
            continue
        previous, current = _number(change.old), _number(change.new)
        kind = movement(previous, current, change.had_mrr)
        if not kind:
            continue
        source = _pick(by_email[change.email])
        details = {
            "stripe_event_id": source.stripe_event_id,
            "stripe_account": account.stripe_user_id,
            "livemode": account.livemode,
            "object_id": source.subscription or source.customer_id,
            "movement": kind,
            "mrr": change.new.get("mrr", 0),
            "previous_mrr": (change.old or {}).get("mrr", 0),
            "currency": change.new.get("currency") or "",
            "subscription": source.subscription or None,
            "unique": {"key": f"{source.stripe_event_id}:mrr"},
        }
        rows.append(
            OutboxEvent(
                site=site,
                connection=account,
                created_at=now,
                kind=OutboxEvent.Kind.EVENT,
                event_type=MRR_CHANGED,
                email=change.email,
                payload={
                    "type": MRR_CHANGED,
                    "email": change.email,
                    "date": source.date,
                    "fields": change.new,
                    "details": details,
                },
                dedupe_key=f"{source.stripe_event_id}:{MRR_CHANGED}",
                stripe_event_id=source.stripe_event_id,
                stripe_account_id=account.stripe_user_id,
                stripe_customer_id=source.customer_id,
                status=OutboxEvent.Status.PENDING
                if account.is_active
                else OutboxEvent.Status.SKIPPED,
            )
        )
    return rows


def subscription_of(event: dict, details: dict) -> str:
    """The subscription a Stripe event is about: its object, else the one its details name."""
    obj = (event.get("data") or {}).get("object") or {}
    if obj.get("object") == "subscription" and isinstance(obj.get("id"), str):
        return obj["id"]
    named = details.get("subscription")
    return named if isinstance(named, str) else ""


def sources(
    pending: list[tuple[dict, BentoEvent, str]], released: list[OutboxEvent]
) -> list[Source]:
    """The unit's Bento events a ``$MrrChanged`` can go with, in order: its new events
    (Stripe event, Bento event, email), then the held rows it released."""
    found = [
        Source(
            email,
            event["id"],
            iso_date(event["created"]),
            be.customer_id,
            subscription_of(event, be.details),
        )
        for event, be, email in pending
    ]
    for row in released:
        details = row.payload.get("details") or {}
        subscription = details.get("subscription") or ""
        if str(details.get("object_id") or "").startswith("sub_"):
            subscription = details["object_id"]
        found.append(
            Source(
                row.email,
                row.stripe_event_id,
                str(row.payload.get("date") or ""),
                row.stripe_customer_id,
                subscription if isinstance(subscription, str) else "",
            )
        )
    return [s for s in found if s.email and s.stripe_event_id and s.date]


def command_rows(
    ledger: LedgerSession,
    site: SiteModel,
    account: StripeAccount,
    now: datetime,
    prefix: str = "",
) -> list[OutboxEvent]:
    """A ``change_email`` command per email change of the unit, written before any row of
    the person; a backfill or reconciliation that finds one sends it too (``prefix``, its
    unit's dedupe prefix, keys it: history has no event id). ``now`` is the unit's time:
    delivery sends a site's rows by (``created_at``, id), so a command stamped later than
    the unit's events would reach Bento after them and move stale fields over new ones."""
    return [
        OutboxEvent(
            site=site,
            connection=account,
            created_at=now,
            kind=OutboxEvent.Kind.COMMAND,
            event_type="change_email",
            email=change.new,
            payload={"command": "change_email", "email": change.old, "query": change.new},
            dedupe_key=f"{prefix or change.event_id}:change_email:{change.customer_id}"[:255],
            stripe_event_id=change.event_id,
            stripe_account_id=account.stripe_user_id,
            stripe_customer_id=change.customer_id,
        )
        for change in ledger.email_changes
    ]
