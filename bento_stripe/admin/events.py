"""Admin for received Stripe events and the ledger's rows (read-only: Stripe is the source)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from ..models import (
    LedgerCharge,
    LedgerCustomer,
    LedgerDispute,
    LedgerSubscription,
    Reroute,
    StripeEventRecord,
)
from ..money_format import format_money
from .scoping import BY_STRIPE_ACCOUNT, TeamScopedAdmin, related_only


def money(field: str, label: Any) -> Callable[[Any], str]:
    """A list column showing ``field`` (minor units) as money in its row's currency and the
    admin user's locale (``$62,686.57``, ``¥1,200``); sorted by the stored amount."""

    @admin.display(description=label, ordering=field)
    def column(obj: Any) -> str:
        return format_money(getattr(obj, field), obj.currency)

    column.__name__ = f"{field}_money"
    return column


class ReadOnlyAdmin(TeamScopedAdmin):
    """Rows written by the webhook task only (staff see their managed teams' rows)."""

    team_path = BY_STRIPE_ACCOUNT

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(StripeEventRecord)
class StripeEventRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "stripe_event_id",
        "event_type",
        "stripe_account_id",
        "livemode",
        "status",
        "note",
        "site",
        "attempts",
        "received_at",
        "processed_at",
        "claimed_until",
    ]
    list_filter = ["status", "livemode", *related_only("site"), "event_type"]
    search_fields = ["stripe_event_id", "stripe_account_id", "event_type"]
    list_select_related = ["site"]
    date_hierarchy = "received_at"


@admin.register(LedgerCustomer)
class LedgerCustomerAdmin(ReadOnlyAdmin):
    list_display = ["customer_id", "email", "currency", "stripe_account_id", "deleted"]
    search_fields = ["customer_id", "email", "stripe_account_id"]
    list_filter = ["livemode", "deleted"]


@admin.register(LedgerCharge)
class LedgerChargeAdmin(ReadOnlyAdmin):
    list_display = [
        "charge_id",
        "email",
        money("captured", _("captured")),
        money("refunded", _("refunded")),
        "stripe_account_id",
    ]
    search_fields = ["charge_id", "customer_id", "email", "stripe_account_id"]
    list_filter = ["livemode", "currency"]


@admin.register(LedgerDispute)
class LedgerDisputeAdmin(ReadOnlyAdmin):
    list_display = ["dispute_id", "charge_id", money("amount", _("amount")), "status", "lost"]
    search_fields = ["dispute_id", "charge_id", "stripe_account_id"]
    list_filter = ["lost", "status"]


@admin.register(LedgerSubscription)
class LedgerSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["subscription_id", "email", "status", "currency", "stripe_account_id"]
    search_fields = ["subscription_id", "customer_id", "email", "stripe_account_id"]
    list_filter = ["status", "livemode"]


@admin.register(Reroute)
class RerouteAdmin(ReadOnlyAdmin):
    """Re-routes and their recompute task: unfinished ones are run again by the sweep."""

    team_path = "account__team"

    list_display = [
        "account",
        "old_site",
        "new_site",
        "created_at",
        "finished_at",
        "attempts",
        "last_error",
    ]
    list_filter = [("finished_at", admin.EmptyFieldListFilter)]
    search_fields = ["account__stripe_user_id", "last_error"]
    list_select_related = ["account", "old_site", "new_site"]
