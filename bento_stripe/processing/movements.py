"""``$MrrChanged`` and ``change_email`` rows a unit of work writes beside its events.

``$MrrChanged``: the event that tells a Bento flow a person's MRR moved, and how.

One per Stripe event that moves a person's ``mrr`` field (their main currency, in major
units), with ``unique.key`` = ``<its Stripe event id>:mrr`` (docs/reference/events.rst).
It depends only on the ledger before and after the event, so a duplicated or late event
that changes nothing sends nothing. When one unit applies several events of a person, each
is measured against the one before it (the ledger session's journal, in memory), so their
moves chain from the field's value before the unit to its value after it. A person whose
move no event of the unit names (a held row released by a lookup, an email change) gets
one move with the last released row about them (a subscription's, when one is). Only
units that send events make it: a re-route, a backfill and a reconciliation set fields only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ..bento.event import MRR_CHANGED, Origin, OutboundEvent, iso_date
from ..ledger.journal import Journal, person_at
from ..ledger.people import Refreshed
from ..ledger.person import mrr_field
from ..ledger.session import LedgerSession
from ..ledger.shapes import Person
from ..models import OutboxEvent, SiteModel, StripeAccount
from ..translators.base import BentoEvent

#: ``details.movement`` values, in the docs' order.
MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation")
#: A person's (``mrr``, ``currency``) fields right after a step of the unit.
MrrAt = Callable[[str, int], tuple[int | float, str]]


@dataclass(frozen=True)
class Source:
    """A Bento event of the unit that a movement can go with."""

    email: str
    stripe_event_id: str
    date: str
    customer_id: str
    #: The subscription the event is about ("" when none).
    subscription: str
    #: The step of the unit's ledger journal after its Stripe event (0: a released row).
    step: int = 0


def _number(value: object) -> Decimal:
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


def journal_mrr(journal: Journal | None, refreshed: Refreshed) -> MrrAt | None:
    """A person's (``mrr``, ``currency``) right after a step of the unit, from the ledger
    session's journal and the rows the unit did not hold (``refreshed.people``): no query."""
    if journal is None:
        return None

    def at(email: str, step: int) -> tuple[int | float, str]:
        return mrr_field(person_at(journal, step, email, refreshed.people.get(email) or Person()))

    return at


def _pick(sources: list[Source]) -> Source:
    """The last event about a subscription, else the last event."""
    with_subscription = [s for s in sources if s.subscription]
    return (with_subscription or sources)[-1]


@dataclass(frozen=True)
class Move:
    """One move of a person's MRR, and the event it goes with."""

    source: Source
    previous: int | float
    mrr: int | float
    currency: str
    kind: str


def _moves(
    email: str,
    before: dict,
    after: dict,
    had_mrr: bool,
    sources: list[Source],
    mrr_at: MrrAt | None,
) -> list[Move]:
    """The moves of one person, in order: one per Stripe event of the unit that moved them
    (the last one ends at the field's value), else one for the whole unit."""
    steps: dict[str, Source] = {}
    for source in sources:
        if source.step:
            steps.pop(source.stripe_event_id, None)
            steps[source.stripe_event_id] = source  # the event's place: its last Bento event
    ordered = sorted(steps.values(), key=lambda s: s.step)
    if not ordered or mrr_at is None:
        ordered = [_pick(ordered or sources)]
    previous = before.get("mrr", 0)
    moves: list[Move] = []
    for index, source in enumerate(ordered):
        if index == len(ordered) - 1 or mrr_at is None:  # the last: the field itself
            mrr, currency = after.get("mrr", 0), after.get("currency") or ""
        else:
            mrr, currency = mrr_at(email, source.step)
        kind = movement(_number(previous), _number(mrr), had_mrr)
        if kind:
            moves.append(Move(source, previous, mrr, currency.upper(), kind))
        had_mrr = had_mrr or _number(mrr) > 0 or _number(previous) > 0
        previous = mrr
    return moves


def movement_rows(
    refreshed: Refreshed,
    sources: list[Source],
    *,
    site: SiteModel,
    account: StripeAccount,
    now: datetime,
    moved_to: frozenset[str] = frozenset(),
    mrr_at: MrrAt | None = None,
) -> list[OutboxEvent]:
    """The ``$MrrChanged`` rows of the people of ``site`` the unit's events are about.

    ``refreshed`` is the unit's refresh of ``site``: each person's fields after it, and
    before it for those it changed. A person who arrives on ``site`` by an email change
    (``moved_to``, with no fields here before) brings their MRR along with
    ``change_email``: that is no move; an email change measures the unit as a whole."""
    by_email: dict[str, list[Source]] = {}
    for source in sources:
        if source.email:
            by_email.setdefault(source.email, []).append(source)
    old = {c.email: c.old for c in refreshed.changes if c.site.pk == site.pk}
    rows: list[OutboxEvent] = []
    for email, found in by_email.items():
        after = refreshed.fields.get(email)
        if after is None:
            continue
        before = old[email] if email in old else after
        if before is None and email in moved_to:
            continue
        moves = _moves(
            email,
            before or {},
            after,
            refreshed.had_mrr.get(email, False),
            found,
            None if email in moved_to else mrr_at,
        )
        rows.extend(_row(move, email, after, site, account, now) for move in moves)
    return rows


def _row(
    move: Move, email: str, fields: dict, site: SiteModel, account: StripeAccount, now: datetime
) -> OutboxEvent:
    source = move.source
    origin = Origin(
        source.stripe_event_id,
        account.stripe_user_id,
        account.livemode,
        source.subscription or source.customer_id,
    )
    details = {
        "movement": move.kind,
        "mrr": move.mrr,
        "previous_mrr": move.previous,
        "currency": move.currency,
        "subscription": source.subscription or None,
    }
    event = OutboundEvent.mrr_changed(origin, details, email=email, date=source.date, fields=fields)
    return OutboxEvent(
        site=site,
        connection=account,
        created_at=now,
        kind=OutboxEvent.Kind.EVENT,
        event_type=MRR_CHANGED,
        email=email,
        payload=event.to_item(),
        dedupe_key=f"{source.stripe_event_id}:{MRR_CHANGED}",
        stripe_event_id=source.stripe_event_id,
        stripe_account_id=account.stripe_user_id,
        stripe_person_key=source.customer_id,
        status=OutboxEvent.Status.PENDING if account.is_active else OutboxEvent.Status.SKIPPED,
    )


def subscription_of(event: dict, details: dict) -> str:
    """The subscription a Stripe event is about: its object, else the one its details name."""
    obj = (event.get("data") or {}).get("object") or {}
    if obj.get("object") == "subscription" and isinstance(obj.get("id"), str):
        return obj["id"]
    named = details.get("subscription")
    return named if isinstance(named, str) else ""


def sources(
    pending: list[tuple[dict, BentoEvent, str, int]], released: list[OutboxEvent]
) -> list[Source]:
    """The unit's Bento events a ``$MrrChanged`` can go with, in order: its new events
    (Stripe event, Bento event, email, journal step), then the held rows it released."""
    found = [
        Source(
            email,
            event["id"],
            iso_date(event["created"]),
            be.customer_id,
            subscription_of(event, be.details),
            step,
        )
        for event, be, email, step in pending
    ]
    for row in released:
        stored = OutboundEvent.from_item(row.payload)
        details = stored.details
        subscription = details.get("subscription") or ""
        if str(details.get("object_id") or "").startswith("sub_"):
            subscription = details["object_id"]
        found.append(
            Source(
                row.email,
                row.stripe_event_id,
                stored.date or "",
                row.stripe_person_key,
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
            stripe_person_key=change.customer_id,
        )
        for change in ledger.email_changes
    ]


def beside(rows: list[OutboxEvent], moves: list[OutboxEvent]) -> list[OutboxEvent]:
    """``rows`` with each ``$MrrChanged`` right after the last row of its Stripe event
    (delivery keeps a site's rows in this order: a flow sees the move beside its event)."""
    after: dict[str, list[OutboxEvent]] = {}
    for move in moves:
        after.setdefault(move.stripe_event_id, []).append(move)
    last = {row.stripe_event_id: index for index, row in enumerate(rows)}
    merged: list[OutboxEvent] = []
    for index, row in enumerate(rows):
        merged.append(row)
        if last.get(row.stripe_event_id) == index:
            merged.extend(after.pop(row.stripe_event_id, []))
    for rest in after.values():
        merged.extend(rest)
    return merged
