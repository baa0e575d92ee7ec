"""Processing a recorded Stripe event: route, translate, ledger, subscribers and outbox at once."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .. import signals
from ..conf import app_settings
from ..ledger.people import refresh_subscriber
from ..ledger.session import LedgerSession
from ..models import OutboxEvent, Site, StripeAccount, StripeEventRecord
from ..translators.base import BentoEvent, TranslationContext, iso_date
from ..translators.registry import registry
from ..translators.unknown import forward_unknown
from . import lookup
from .outbox import release_held, resolve_email

logger = logging.getLogger(__name__)

DONE = (StripeEventRecord.Status.PROCESSED, StripeEventRecord.Status.IGNORED)


@dataclass
class Outcome:
    """What processing one event did, for the after-commit signals."""

    status: str
    note: str = ""
    site_ids: set[int] = field(default_factory=set)
    bento_events: list[dict] = field(default_factory=list)
    changes: list[tuple[Site, str, dict | None, dict | None]] = field(default_factory=list)


def route(record: StripeEventRecord) -> tuple[StripeAccount | None, str]:
    """The active connection an event belongs to, or None and why it is not forwarded."""
    if not record.stripe_account_id:
        return None, "platform event (no connected account)"
    connections = StripeAccount.objects.filter(stripe_user_id=record.stripe_account_id)
    active = [a for a in connections if a.is_active]
    for account in active:
        if account.livemode == record.livemode:
            return account, ""
    if active:
        return None, "livemode differs from the connection's"
    if connections:
        return None, "the account is disconnected or deauthorized"
    return None, "unknown Stripe account"


def _finish(record_id: int, status: str, note: str = "", site: Site | None = None) -> Outcome:
    StripeEventRecord.objects.filter(pk=record_id).update(
        status=status, note=note[:2000], site=site, processed_at=timezone.now()
    )
    return Outcome(status=status, note=note)


def process_record(record_id: int) -> str:
    """Process one recorded event, idempotently; returns its final status."""
    record = StripeEventRecord.objects.filter(pk=record_id).first()
    if record is None:
        return "missing"
    if record.status in DONE:
        return record.status
    account, reason = route(record)
    if account is None:
        return _finish(record_id, StripeEventRecord.Status.IGNORED, reason).status
    translate = registry.get(record.event_type)
    if translate is None:
        if not app_settings.FORWARD_UNKNOWN_EVENTS:
            note = f"no translator for {record.event_type}"
            return _finish(record_id, StripeEventRecord.Status.IGNORED, note).status
        translate = forward_unknown
    snapshots = lookup.prefetch(record.payload, account)
    try:
        with transaction.atomic():
            outcome = _process_locked(record_id, account.pk, translate, snapshots)
            transaction.on_commit(lambda: _after_commit(record_id, account, outcome))
    except Exception as exc:
        StripeEventRecord.objects.filter(pk=record_id).exclude(status__in=DONE).update(
            status=StripeEventRecord.Status.FAILED,
            note=f"{type(exc).__name__}: {exc}"[:2000],
            attempts=F("attempts") + 1,
        )
        logger.exception("Processing Stripe event %s failed", record.stripe_event_id)
        raise
    return outcome.status


def _process_locked(record_id, account_pk, translate, snapshots) -> Outcome:
    # One account's events are processed one at a time, and one site's people too.
    account = StripeAccount.objects.select_for_update().get(pk=account_pk)
    site = Site.objects.select_for_update().get(pk=account.site_id)
    record = StripeEventRecord.objects.select_for_update().get(pk=record_id)
    if record.status in DONE:
        return Outcome(status=record.status)
    if not account.is_active:
        return _finish(record_id, StripeEventRecord.Status.IGNORED, "account no longer active")
    StripeEventRecord.objects.filter(pk=record_id).update(attempts=record.attempts + 1)
    event = copy.deepcopy(record.payload)
    responses = signals.before_translate.send(
        sender=StripeEventRecord, event=event, account=account, site=site, record=record
    )
    if any(response is False for _, response in responses):
        return _finish(record_id, StripeEventRecord.Status.IGNORED, "vetoed by a receiver", site)
    ledger = LedgerSession(
        stripe_account_id=account.stripe_user_id,
        livemode=account.livemode,
        created=int(event["created"]),
        event_id=event["id"],
    )
    for kind, obj, version in snapshots:
        if kind == "customer":
            ledger.customer(obj, version=version)
        else:
            ledger.charge(obj)
    ctx = TranslationContext(event=event, account=account, site=site, ledger=ledger)
    outcome = write_outbox(ctx, translate(ctx))
    released_changes, released_sites = release_held(account, ledger)
    outcome.changes.extend(released_changes)
    outcome.site_ids.update(released_sites)
    StripeEventRecord.objects.filter(pk=record_id).update(
        status=StripeEventRecord.Status.PROCESSED,
        note="",
        site=site,
        processed_at=timezone.now(),
    )
    return outcome


def bento_payload(ctx: TranslationContext, event: BentoEvent, email: str, fields: dict) -> dict:
    """The Bento event exactly as DESIGN.md's contract shows it."""
    details = {
        "stripe_event_id": ctx.event["id"],
        "stripe_account": ctx.account.stripe_user_id,
        "livemode": bool(ctx.event.get("livemode")),
        "object_id": event.object_id,
    }
    for key, value in event.details.items():
        details.setdefault(key, value)
    if event.value is not None:
        currency, amount = event.value
        details["value"] = {"currency": currency, "amount": amount}
        details["unique"] = {"key": event.unique_key}
    return {
        "type": event.type,
        "email": email,
        "date": iso_date(ctx.event["created"]),
        "fields": fields,
        "details": details,
    }


def write_outbox(ctx: TranslationContext, bento_events: list[BentoEvent]) -> Outcome:
    """Refresh the touched people's fields, then write the outbox rows (held without email)."""
    ledger, site, event_id = ctx.ledger, ctx.site, ctx.event["id"]
    outcome = Outcome(status=StripeEventRecord.Status.PROCESSED)
    emails = [resolve_email(ledger, be) for be in bento_events]
    ledger.touched.update(e for e in emails if e)
    common = {
        "stripe_event_id": event_id,
        "stripe_account_id": ctx.account.stripe_user_id,
    }
    for change in ledger.email_changes:
        OutboxEvent.objects.get_or_create(
            site=site,
            dedupe_key=f"{event_id}:change_email:{change.customer_id}",
            defaults={
                **common,
                "kind": OutboxEvent.Kind.COMMAND,
                "event_type": "change_email",
                "email": change.new,
                "payload": {"command": "change_email", "email": change.old, "query": change.new},
                "stripe_customer_id": change.customer_id,
            },
        )
        outcome.site_ids.add(site.pk)
    fields: dict[str, dict] = {}
    for email in sorted(ledger.touched):
        old, new = refresh_subscriber(site, email)
        fields[email] = new or {}
        if old != new:
            outcome.changes.append((site, email, old, new))
    for be, email in zip(bento_events, emails, strict=True):
        payload = bento_payload(ctx, be, email, fields.get(email, {}))
        OutboxEvent.objects.get_or_create(
            site=site,
            dedupe_key=f"{event_id}:{be.type}",
            defaults={
                **common,
                "kind": OutboxEvent.Kind.EVENT,
                "event_type": be.type,
                "email": email,
                "payload": payload,
                "stripe_customer_id": be.customer_id or be.charge_id,
                "status": OutboxEvent.Status.PENDING if email else OutboxEvent.Status.HELD,
            },
        )
        outcome.bento_events.append(payload)
        if email:
            outcome.site_ids.add(site.pk)
    return outcome


def _after_commit(record_id: int, account: StripeAccount, outcome: Outcome) -> None:
    if outcome.site_ids:
        signals.outbox_ready.send(sender=OutboxEvent, site_ids=set(outcome.site_ids))
    for site, email, old, new in outcome.changes:
        signals.value_changed.send(
            sender=StripeEventRecord, site=site, email=email, old_fields=old, new_fields=new
        )
    if outcome.bento_events:
        record = StripeEventRecord.objects.filter(pk=record_id).first()
        signals.event_translated.send(
            sender=StripeEventRecord,
            event=record.payload if record else {},
            account=account,
            site=account.site,
            record=record,
            bento_events=outcome.bento_events,
        )
