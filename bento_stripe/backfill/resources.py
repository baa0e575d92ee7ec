"""The Stripe lists a backfill reads, in the order it reads them, and how each is asked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..models import BackfillCursor

R = BackfillCursor.Resource
#: Objects per page: Stripe's largest ``limit``.
PAGE_SIZE = 100


@dataclass(frozen=True)
class Resource:
    """One Stripe list: its ``client.v1`` service, the snapshot kind of its objects, and the
    extra parameters that save calls (``expand[]``) or widen it (``status=all``)."""

    name: str
    kind: str
    extra: tuple[tuple[str, Any], ...] = ()
    #: Whether ``--since`` narrows it (the catalogue is read whole: old products still
    #: name today's subscriptions).
    dated: bool = True

    def params(self, starting_after: str, since: int) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": PAGE_SIZE, **dict(self.extra)}
        if starting_after:
            params["starting_after"] = starting_after
        if since and self.dated:
            params["created"] = {"gte": since}
        return params


#: Products and prices, archived ones too (``active`` unset lists both), each applied to
#: the connection's catalogue (``bento_stripe.processing.products``).
CATALOGUE = (
    Resource(R.PRODUCTS, "product", dated=False),
    Resource(R.PRICES, "price", dated=False),
)
#: The catalogue first, so subscriptions find their products' names (Stripe's list cannot
#: expand ``data.items.data.price.product``: one level too deep); then customers, so the
#: objects after them find their people's emails.
RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        *CATALOGUE,
        Resource(R.CUSTOMERS, "customer"),
        # amount_captured and amount_refunded are on the charge: refunds need no call.
        Resource(R.CHARGES, "charge"),
        Resource(R.DISPUTES, "dispute"),
        # Every status (the default leaves canceled ones out); discounts expanded, or each
        # would be one more call (items, prices and their amounts come with the list).
        Resource(
            R.SUBSCRIPTIONS, "subscription", (("status", "all"), ("expand", ["data.discounts"]))
        ),
        Resource(R.INVOICES, "invoice"),
    )
}
#: The backfill's resources in the order they run: the lists, then the people whose fields
#: the lists' units left to the last step (``engine.people_step``), each recomputed once.
ORDER: tuple[str, ...] = (*RESOURCES, R.PEOPLE)
