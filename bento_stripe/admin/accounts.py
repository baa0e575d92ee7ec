"""Admin for Stripe connections."""

from __future__ import annotations

from django.contrib import admin

from ..forms import StripeAccountForm
from ..models import StripeAccount


@admin.register(StripeAccount)
class StripeAccountAdmin(admin.ModelAdmin):
    form = StripeAccountForm
    list_display = [
        "__str__",
        "stripe_user_id",
        "team",
        "site",
        "livemode",
        "status",
        "connected_at",
    ]
    list_filter = ["status", "livemode", "team"]
    search_fields = ["stripe_user_id", "display_name", "team__name", "site__name"]
    list_select_related = ["team", "site"]
    readonly_fields = [
        "status",
        "connected_by",
        "connected_at",
        "disconnected_at",
        "created_at",
        "updated_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # The identity of a connection never changes; only its routing does.
            fields += ["team", "stripe_user_id", "livemode"]
        return fields
