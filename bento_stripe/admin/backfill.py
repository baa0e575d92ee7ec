"""Admin of backfills: each connection's cursors, per resource, read-only (on the Stripe
account's change form, and in a list of their own)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from ..models import BackfillCursor, StripeAccount
from .scoping import TeamScopedAdmin

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
#: Columns of the table on a Stripe account's change form.
COLUMNS = ("resource", "state", "objects_done", "started_at", "finished_at", "last_error")


def backfill_table(account: StripeAccount) -> str:
    """The account's cursors as a small HTML table (escaped), for its change form."""
    cursors = list(BackfillCursor.objects.filter(account=account).order_by("pk"))
    if not cursors:
        return "—"
    head = format_html_join("", "<th>{}</th>", [(f.replace("_", " "),) for f in COLUMNS])
    rows = format_html_join(
        "",
        "<tr>{}</tr>",
        [
            (format_html_join("", "<td>{}</td>", [(_show(getattr(c, f)),) for f in COLUMNS]),)
            for c in cursors
        ],
    )
    return format_html('<table id="backfill-cursors"><tr>{}</tr>{}</table>', head, rows)


def _show(value: object) -> object:
    return "—" if value in (None, "") else value


@admin.register(BackfillCursor)
class BackfillCursorAdmin(TeamScopedAdmin):
    """Every backfill cursor: where each connection's import stands, and its last error."""

    team_path = "account__team"

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
