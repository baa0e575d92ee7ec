"""Admin for subscribers and the delivery outbox."""

from __future__ import annotations

from django.contrib import admin

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
