"""The catch-all for event types without a translator (``FORWARD_UNKNOWN_EVENTS``)."""

from __future__ import annotations

from ..ledger.parse import object_id
from .base import BentoEvent, TranslationContext


def forward_unknown(ctx: TranslationContext) -> list[BentoEvent]:
    """A generic Bento event about whoever the object names; no ledger change."""
    obj = ctx.obj
    if obj.get("object") == "customer":
        customer_id = str(obj.get("id") or "")
    else:
        customer_id = object_id(obj.get("customer"))
    hint = obj.get("email") or obj.get("customer_email") or obj.get("receipt_email") or ""
    if not customer_id and not hint:
        return []
    return [ctx.bento(customer=customer_id, email_hint=hint)]
