"""``details.items`` and ``details.product_names`` of invoice, subscription and checkout events."""

from __future__ import annotations

from ..ledger.invoices import PaymentIds
from ..ledger.items import named, product_names
from .base import TranslationContext


def items_details(ctx: TranslationContext, raw: list[dict]) -> dict:
    """The items of ``raw`` named from the connection's catalogue (prices the payload
    carries are applied to the catalogue first, as of this event), and their product names."""
    version = (ctx.ledger.created, ctx.ledger.event_id)
    items = named(raw, ctx.ledger.catalogue, version)
    return {"items": items, "product_names": product_names(items)}


def invoice_items(ctx: TranslationContext) -> dict:
    """The items of the invoice a charge, refund or dispute belongs to, when the ledger
    knows it (read with the batch: no query here); {} when it does not."""
    items = ctx.ledger.invoices.items_of(PaymentIds.of(ctx.obj))
    if items is None:
        return {}
    return {"items": items, "product_names": product_names(items)}
