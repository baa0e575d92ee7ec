"""The catalogue part of a unit of work: products and prices of one connection, in memory.

Like the ledger session, it reads the rows a batch needs in bulk up front
(:meth:`Catalogue.preload`, one query per table), applies ``product.*`` and ``price.*``
objects newest-wins, and writes back with one bulk statement per table
(:meth:`Catalogue.flush`). Naming a known product costs no query beyond the preload.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.db.models import Model, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from ..models import CataloguePrice, CatalogueProduct, LedgerSubscription
from .parse import UnreadableObject, object_id, require_id, text, whole_number
from .rowcache import RowCache

#: The Stripe id column of each catalogue table, in the order the tables are written.
KEY_FIELD: dict[type[Model], str] = {
    CatalogueProduct: "product_id",
    CataloguePrice: "price_id",
}


def price_amount(price: dict) -> str:
    """A price's (or plan's) unit amount in minor units as an exact decimal string ("" for none)."""
    for key in ("unit_amount_decimal", "amount_decimal", "unit_amount", "amount"):
        value = price.get(key)
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, int):
            return str(value)
        if isinstance(value, str):
            try:
                amount = Decimal(value)
            except InvalidOperation:
                raise UnreadableObject(f"price.{key} is not a decimal: {value!r}") from None
            if amount.is_finite():
                return str(amount)
        raise UnreadableObject(f"price.{key} is not a decimal: {value!r}")
    return ""


def price_interval(price: dict) -> tuple[str, int]:
    """A price's billing interval and count (``""`` for a one-time price)."""
    recurring = price.get("recurring")
    if isinstance(recurring, dict):
        return text(recurring, "interval"), whole_number(recurring, "interval_count") or 1
    if price.get("object") == "plan":  # legacy plans are always recurring
        return text(price, "interval"), whole_number(price, "interval_count") or 1
    return "", 1


class Catalogue:
    """Products and prices of one connected account (and mode), read and written in bulk."""

    def __init__(self, stripe_account_id: str, livemode: bool) -> None:
        self.stripe_account_id = stripe_account_id
        self.livemode = livemode
        #: The rows read or made; a row made is written only once a newer object set it.
        self._cache = RowCache(stripe_account_id, livemode, KEY_FIELD, write_new_rows=False)
        self._rows = self._cache.rows
        #: Products whose name this unit learnt or changed (their people's fields follow).
        self.renamed: set[str] = set()
        #: Line items of checkout sessions looked up at Stripe for this batch, by session id.
        self.line_items: dict[str, list[dict]] = {}

    # --- reading ----------------------------------------------------------------------------

    def preload(self, products: Iterable[str] = (), prices: Iterable[str] = ()) -> None:
        """Read the named products and prices (and the products of those prices) at once."""
        wanted_prices = sorted({p for p in prices if p} - set(self._rows[CataloguePrice]))
        self._cache.load_keys(CataloguePrice, wanted_prices)
        of_prices = {
            row.product_id  # type: ignore[attr-defined]
            for row in self._rows[CataloguePrice].values()
            if row is not None
        }
        wanted = sorted(
            ({p for p in products if p} | of_prices) - set(self._rows[CatalogueProduct])
        )
        self._cache.load_keys(CatalogueProduct, wanted)

    def product(self, product_id: str) -> CatalogueProduct | None:
        """The known product (None when never seen)."""
        return self._cache.get(CatalogueProduct, product_id) if product_id else None

    def price(self, price_id: str) -> CataloguePrice | None:
        """The known price (None when never seen)."""
        return self._cache.get(CataloguePrice, price_id) if price_id else None

    def product_name(self, product_id: str) -> str:
        """The product's name ("" when never seen)."""
        row = self.product(product_id)
        return row.name if row else ""

    def emails_naming(self, product_ids: Iterable[str]) -> set[str]:
        """Emails of the people whose subscriptions of this account name one of the products
        (one query per product: a product's name changes rarely)."""
        emails: set[str] = set()
        for product_id in sorted(set(product_ids)):
            emails.update(
                LedgerSubscription.objects.filter(**self._cache.scope)
                .exclude(email="")
                .annotate(text=Cast("data", TextField()))
                .filter(text__contains=f'"{product_id}"')
                .values_list("email", flat=True)
            )
        return emails

    # --- writing ----------------------------------------------------------------------------

    def apply_product(self, obj: dict, version: tuple[int, str], *, deleted: bool = False) -> None:
        """A product object, if newer than what is kept; a deleted one keeps its last name."""
        product_id = require_id(obj)
        name = text(obj, "name")[:255]
        active = obj.get("active")
        gone = deleted or bool(obj.get("deleted"))
        row = self._cache.get_or_new(CatalogueProduct, product_id)
        if not row.is_newer(*version):
            return
        row.version_created, row.version_event = version
        if name and name != row.name:
            self.renamed.add(product_id)
        row.name = name or row.name
        row.missing_at = None
        row.active = bool(active) if isinstance(active, bool) else row.active and not gone
        row.deleted = gone
        self._cache.changed(row)

    def mark_missing(self, product_id: str) -> None:
        """A lookup at Stripe found no such product: remember when, so the next batches do
        not ask again (a product known by name keeps it)."""
        row = self._cache.get_or_new(CatalogueProduct, product_id)
        if row.name:
            return
        row.missing_at = timezone.now()
        self._cache.changed(row)

    def apply_price(self, obj: dict, version: tuple[int, str], *, deleted: bool = False) -> None:
        """A price (or legacy plan) object, if newer; an expanded product is applied too."""
        price_id = require_id(obj)
        product = obj.get("product")
        nickname = text(obj, "nickname")[:255]
        currency = text(obj, "currency").lower()
        amount = price_amount(obj)
        interval, count = price_interval(obj)
        if isinstance(product, dict) and product.get("id"):
            self.apply_product(product, version)
        row = self._cache.get_or_new(CataloguePrice, price_id)
        if not row.is_newer(*version):
            return
        row.version_created, row.version_event = version
        row.product_id = object_id(product)[:255] or row.product_id
        row.nickname = nickname
        row.currency = currency or row.currency
        row.unit_amount = amount
        row.interval, row.interval_count = interval[:8], max(1, count)
        row.deleted = deleted or bool(obj.get("deleted"))
        self._cache.changed(row)

    def flush(self) -> None:
        """Write every changed row: one upsert of new rows and one update per table."""
        self._cache.flush(timezone.now())
