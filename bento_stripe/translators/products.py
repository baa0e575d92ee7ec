"""Products and prices: they fill the connection's catalogue; nothing goes to Bento."""

from __future__ import annotations

from .base import BentoEvent, TranslationContext
from .registry import builtin


@builtin("product.created", "product.updated", "product.deleted")
def product(ctx: TranslationContext) -> list[BentoEvent]:
    """Keep the product's newest name (a deleted product keeps its last one)."""
    version = (ctx.ledger.created, ctx.ledger.event_id)
    catalogue = ctx.ledger.catalogue
    catalogue.apply_product(ctx.obj, version, deleted=ctx.type == "product.deleted")
    if catalogue.renamed:
        # People whose plan or products show this name get their fields again, whatever
        # the order their events and the product's arrived in.
        ctx.ledger.touched.update(catalogue.emails_naming(catalogue.renamed))
        catalogue.renamed.clear()
    return []


@builtin(
    "price.created",
    "price.updated",
    "price.deleted",
    "plan.created",
    "plan.updated",
    "plan.deleted",
)
def price(ctx: TranslationContext) -> list[BentoEvent]:
    """Keep the price's newest nickname, product and interval."""
    version = (ctx.ledger.created, ctx.ledger.event_id)
    ctx.ledger.catalogue.apply_price(ctx.obj, version, deleted=ctx.type.endswith(".deleted"))
    return []
