"""Admin of the product catalogue: what the app has seen of each connection's products and
prices, read-only (Stripe is where they change)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from ..models import CataloguePrice, CatalogueProduct
from .scoping import BY_STRIPE_ACCOUNT, TeamScopedAdmin


class ReadOnly(TeamScopedAdmin):
    """Rows the app keeps in step with Stripe: shown (to staff, only their teams' connections
    ones), never edited here."""

    team_path = BY_STRIPE_ACCOUNT

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(CatalogueProduct)
class CatalogueProductAdmin(ReadOnly):
    list_display = ("name", "product_id", "stripe_account_id", "livemode", "active", "deleted")
    list_filter = ("livemode", "active", "deleted")
    search_fields = ("name", "product_id", "stripe_account_id")


@admin.register(CataloguePrice)
class CataloguePriceAdmin(ReadOnly):
    list_display = (
        "price_id",
        "nickname",
        "product_id",
        "currency",
        "unit_amount",
        "interval",
        "stripe_account_id",
        "livemode",
    )
    list_filter = ("livemode", "interval", "deleted")
    search_fields = ("price_id", "nickname", "product_id", "stripe_account_id")
