"""Django admin for teams, sites, Stripe connections and the delivery outbox."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .crypto import mask
from .forms import SiteForm, StripeAccountForm
from .models import Membership, OutboxEvent, Site, StripeAccount, Subscriber, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class SiteInline(admin.TabularInline):
    model = Site
    form = SiteForm
    extra = 0
    fields = ["name", "bento_site_uuid", "bento_publishable_key", "bento_secret_key"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline, SiteInline]


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    form = SiteForm
    list_display = ["name", "team", "bento_site_uuid", "masked_secret_key"]
    list_filter = ["team"]
    search_fields = ["name", "bento_site_uuid", "team__name"]
    list_select_related = ["team"]

    @admin.display(description=_("Bento secret key"))
    def masked_secret_key(self, obj):
        return mask(obj.bento_secret_key) or "—"


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


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "site", "updated_at"]
    list_filter = ["site"]
    search_fields = ["email"]
    readonly_fields = ["site", "email", "fields", "updated_at"]
    list_select_related = ["site"]

    def has_add_permission(self, request):
        return False


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = [
        "event_type",
        "email",
        "site",
        "status",
        "attempts",
        "created_at",
        "delivered_at",
    ]
    list_filter = ["status", "kind", "site", "event_type"]
    search_fields = ["email", "stripe_event_id", "dedupe_key"]
    list_select_related = ["site"]
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]

    def has_add_permission(self, request):
        return False
