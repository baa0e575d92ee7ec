"""Bento request bodies from outbox rows, with each person's fields as they are at send time.

An event row holds its Bento event as it will be sent (``bento_stripe.bento.event``):
it is read back and sent with one change, the person's current fields
(docs/topics/delivery.rst, "Fields at send time")."""

from __future__ import annotations

import copy
from collections.abc import Iterable

from ..bento.client import ENDPOINTS
from ..bento.event import OutboundEvent
from ..models import OutboxEvent, Subscriber

#: Outbox kind → Bento endpoint.
ENDPOINT_OF_KIND: dict[str, str] = {
    OutboxEvent.Kind.EVENT: "batch/events",
    OutboxEvent.Kind.SUBSCRIBER: "batch/subscribers",
    OutboxEvent.Kind.COMMAND: "fetch/commands",
}


def _email(row: OutboxEvent) -> str:
    return row.email or str(row.payload.get("email", ""))


def current_fields(site_id: int, emails: Iterable[str]) -> dict[str, dict]:
    """Each email's current Subscriber fields on the site."""
    emails = {e for e in emails if e}
    if not emails:
        return {}
    rows = Subscriber.objects.filter(site_id=site_id, email__in=emails).values_list(
        "email", "fields"
    )
    return {email: fields or {} for email, fields in rows}


def item_of(row: OutboxEvent, fields_by_email: dict[str, dict]) -> dict:
    """The Bento item of one row: an event with current fields, a flat subscriber, a command."""
    email = _email(row)
    current = fields_by_email.get(email)
    if row.kind == OutboxEvent.Kind.EVENT:
        event = OutboundEvent.from_item(row.payload or {}, email=email)
        if current is not None:
            # Replaced, not merged: a late batch must never carry older values than Bento has.
            event = event.with_fields(copy.deepcopy(current))
        return event.to_item()
    payload = copy.deepcopy(row.payload or {})
    if row.kind == OutboxEvent.Kind.SUBSCRIBER:
        flat = payload.pop("fields", None)
        if not isinstance(flat, dict):
            flat = {k: v for k, v in payload.items() if k != "email"}
        flat.update(copy.deepcopy(current or {}))
        return {"email": email, **{k: v for k, v in flat.items() if k != "email"}}
    return payload


def body_of(rows: list[OutboxEvent]) -> tuple[str, dict]:
    """The endpoint and JSON body for rows of one site and one kind."""
    endpoint = ENDPOINT_OF_KIND[rows[0].kind]
    fields = current_fields(rows[0].site_id, {_email(r) for r in rows})
    return endpoint, {ENDPOINTS[endpoint]: [item_of(r, fields) for r in rows]}
