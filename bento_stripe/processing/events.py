"""Applying claimed Stripe events: route them, translate them, feed them to one unit of work."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable

from .. import signals
from ..conf import app_settings
from ..ledger.ids import ObjectIds
from ..ledger.invoices import named_by
from ..ledger.parse import UnreadableObject
from ..logs import get_logger
from ..models import StripeAccount, StripeEventRecord
from ..operations.erasure import ERASED_NOTE, ErasureGuard, redact
from ..translators.base import BentoEvent, TranslationContext
from ..translators.registry import registry
from ..translators.unknown import forward_unknown
from . import claim, lookup, products
from .disconnect import DEAUTHORIZING_EVENTS, deauthorize
from .unit import UnitOfWork

logger = get_logger("bento_stripe.processing")

Status = StripeEventRecord.Status
Translator = Callable[[TranslationContext], list[BentoEvent]]
DONE = (Status.PROCESSED, Status.IGNORED)
#: Seconds of Stripe lookups one batch may spend before its unknown people stay held.
BATCH_LOOKUP_BUDGET = 10.0


def route(stripe_account_id: str, livemode: bool) -> tuple[StripeAccount | None, str]:
    """The active connection events of an account and mode belong to, or None and why not."""
    if not stripe_account_id:
        return None, "platform event (no connected account)"
    connections = list(StripeAccount.objects.filter(stripe_user_id=stripe_account_id))
    active = [a for a in connections if a.is_active]
    for account in active:
        if account.livemode == livemode:
            return account, ""
    if active:
        return None, "livemode differs from the connection's"
    if connections:
        return None, "the account is disconnected or deauthorized"
    return None, "unknown Stripe account"


def translator_of(event_type: str) -> Translator | None:
    """The translator of a Stripe event type (the catch-all when forwarding unknown types)."""
    translate = registry.get(event_type)
    if translate is None and app_settings.FORWARD_UNKNOWN_EVENTS:
        return forward_unknown
    return translate


def apply(records: list[StripeEventRecord]) -> int:
    """Apply claimed events of one (account, mode) in one transaction; returns how many."""
    account, reason = route(records[0].stripe_account_id, records[0].livemode)
    if account is None:
        claim.finish(records, Status.IGNORED, reason)
        return len(records)
    objects = [r.payload["data"]["object"] for r in records]
    erased = ErasureGuard(account)
    if erased:  # no Stripe lookup rebuilds an erased person's customer
        objects = [o for o in objects if not erased.blocks(o, lift=False)]
    budget = min(BATCH_LOOKUP_BUDGET, app_settings.LOOKUP_BUDGET)
    deadline = time.monotonic() + budget
    snapshots = lookup.prefetch(objects, account, budget=budget)
    snapshots += products.prefetch(objects, account, deadline=deadline)
    ids = ObjectIds()
    for obj in objects + [s[1] for s in snapshots]:
        ids.add_object(obj)
    with UnitOfWork(account, gather=True) as uow:
        done = set(
            StripeEventRecord.objects.filter(
                pk__in=[r.pk for r in records], status__in=DONE
            ).values_list("pk", flat=True)
        )
        uow.ledger.preload(ids)
        uow.ledger.catalogue.preload(
            *products.catalogue_ids([*objects, *(s[1] for s in snapshots)])
        )
        uow.ledger.invoices.preload(named_by(objects))
        uow.apply_snapshots(snapshots)
        guard = ErasureGuard(uow.account)
        for record in records:
            if record.pk not in done:
                _apply_one(uow, record, guard)
    return len(records)


def _apply_one(uow: UnitOfWork, record: StripeEventRecord, guard: ErasureGuard) -> None:
    if not uow.account.is_active:
        uow.skip(record, Status.IGNORED, "account no longer active")
        return
    if guard and guard.blocks(record.payload["data"]["object"]):
        uow.skip(record, Status.IGNORED, ERASED_NOTE)
        redact(record)
        return
    translate = translator_of(record.event_type)
    if translate is None:
        uow.skip(record, Status.IGNORED, f"no translator for {record.event_type}")
        return
    event = copy.deepcopy(record.payload)
    responses = signals.before_translate.send(
        sender=StripeEventRecord, event=event, account=uow.account, site=uow.site, record=record
    )
    if any(response is False for _, response in responses):
        uow.skip(record, Status.IGNORED, "vetoed by a receiver")
        return
    uow.ledger.at(int(event["created"]), event["id"])
    ctx = TranslationContext(event=event, account=uow.account, site=uow.site, ledger=uow.ledger)
    try:
        # The ledger reads an object whole before it changes any row, so an unreadable
        # one leaves nothing half-applied in the session (docs/how-it-works.rst: ignored, with why).
        events = translate(ctx)
    except UnreadableObject as error:
        uow.skip(record, Status.IGNORED, f"unreadable: {error}")
        return
    uow.add_events(record, ctx, events)
    if record.event_type in DEAUTHORIZING_EVENTS:
        uow.account.status = deauthorize(uow.account).status


def process_claimed(records: list[StripeEventRecord]) -> int:
    """Apply a claimed batch; when it fails, each event alone, so one bad event holds up none."""
    try:
        return apply(records)
    except Exception as error:
        if len(records) == 1:
            logger.exception(
                "Processing Stripe event %s failed",
                records[0].stripe_event_id,
                event=records[0].stripe_event_id,
                account=records[0].stripe_account_id,
            )
            claim.fail(records[0], error)
            return 0
    count = 0
    for record in records:
        count += process_claimed([record])
    return count
