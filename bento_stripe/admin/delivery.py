"""Admin for subscribers and the delivery outbox (the delivery log), with Retry now and Replay."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..delivery import services
from ..models import OutboxEvent, Subscriber
from .privacy import PersonActionsMixin
from .scoping import TeamScopedAdmin, related_only


@admin.register(Subscriber)
class SubscriberAdmin(PersonActionsMixin, TeamScopedAdmin):
    team_path = "site__team"
    actions = ["export_people", "erase_people"]
    list_display = ["email", "site", "updated_at"]
    list_filter = related_only("site")
    search_fields = ["email"]
    readonly_fields = ["site", "email", "fields", "updated_at"]
    list_select_related = ["site"]

    def has_add_permission(self, request):
        return False


@admin.register(OutboxEvent)
class OutboxEventAdmin(TeamScopedAdmin):
    team_path = "site__team"
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
    list_filter = ["status", "kind", *related_only("site"), "event_type"]
    search_fields = ["email", "stripe_event_id", "dedupe_key", "stripe_person_key"]
    list_select_related = ["site", "connection"]
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]
    date_hierarchy = "created_at"
    actions = ["retry_now", "replay"]
    change_list_template = "bento_stripe/admin/outboxevent_change_list.html"

    def has_add_permission(self, request):
        return False

    def changelist_view(self, request, extra_context=None):
        """The changelist; users who may only view it are told what the actions need."""
        opts = self.model._meta
        extra_context = {
            **(extra_context or {}),
            "actions_need_change": not self.has_change_permission(request),
            "change_permission_name": f"{opts.app_label}.change_{opts.model_name}",
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return Truncator(obj.last_error).chars(120)

    # Both actions send to Bento again: they need the change permission, so staff who may
    # only view the delivery log get no action (and a forged POST is refused by Django).
    @admin.action(description=_("Retry now (pending, failed or dead rows)"), permissions=["change"])
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

    @admin.action(description=_("Replay (send delivered rows again)"), permissions=["change"])
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
