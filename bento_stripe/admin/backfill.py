"""Admin of backfills: each connection's cursors, per resource, read-only."""

from __future__ import annotations

from django.contrib import admin

from ..models import BackfillCursor

FIELDS = (
    "resource",
    "state",
    "objects_done",
    "pages_done",
    "started_at",
    "finished_at",
    "attempts",
    "last_error",
    "starting_after",
    "since",
    "run",
)


class BackfillCursorInline(admin.TabularInline):
    """The connection's backfill and reconciliation, one row per resource."""

    model = BackfillCursor
    fields = FIELDS
    readonly_fields = FIELDS
    extra = 0
    can_delete = False
    verbose_name_plural = "Backfill and reconciliation"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BackfillCursor)
class BackfillCursorAdmin(admin.ModelAdmin):
    """Every backfill cursor: where each connection's import stands, and its last error."""

    list_display = [
        "account",
        "resource",
        "state",
        "objects_done",
        "pages_done",
        "started_at",
        "finished_at",
        "last_error",
    ]
    list_filter = ["state", "resource"]
    search_fields = ["account__stripe_user_id", "account__display_name"]
    list_select_related = ["account"]
    readonly_fields = ("account", *FIELDS, "updated_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
