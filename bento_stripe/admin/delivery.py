"""Admin for subscribers and the delivery outbox (the delivery log), with Retry now and Replay."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..delivery import services
from ..models import OutboxEvent, Subscriber


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
        "connection",
        "status",
        "attempts",
        "short_error",
        "created_at",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "kind", "site", "event_type"]
    search_fields = ["email", "stripe_event_id", "dedupe_key", "stripe_customer_id"]
    list_select_related = ["site", "connection"]
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]
    date_hierarchy = "created_at"
    actions = ["retry_now", "replay"]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return Truncator(obj.last_error).chars(120)

    @admin.action(description=_("Retry now (pending, failed or dead rows)"))
    def retry_now(self, request, queryset):
        count = services.retry_now(queryset)
        skipped = queryset.count() - count
        self.message_user(
            request,
            ngettext("%(n)d row queued for delivery.", "%(n)d rows queued for delivery.", count)
            % {"n": count}
            + (f" {skipped} skipped (delivered, held or sending)." if skipped else ""),
            messages.SUCCESS if count else messages.WARNING,
        )

    @admin.action(description=_("Replay (send delivered rows again)"))
    def replay(self, request, queryset):
        count = services.replay(queryset)
        skipped = queryset.count() - count
        self.message_user(
            request,
            ngettext(
                "%(n)d delivered row queued again.", "%(n)d delivered rows queued again.", count
            )
            % {"n": count}
            + (f" {skipped} skipped (not delivered yet)." if skipped else ""),
            messages.SUCCESS if count else messages.WARNING,
        )
