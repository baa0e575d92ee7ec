"""A person's data in the admin: export and erase people, and lift erasure markers."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..models import ErasureMarker
from ..operations.privacy import erase_person, export_person, lift_marker
from .scoping import BY_STRIPE_ACCOUNT, TeamScopedAdmin


class PersonActionsMixin:
    """Subscriber admin actions: the people's data as JSON, or erased (each in their site's
    team, through the same service as the commands and the API)."""

    @admin.action(description=_("Export the selected people's data (JSON)"), permissions=["change"])
    def export_people(self, request, queryset):
        data = [export_person(p.email, p.site.team) for p in queryset.select_related("site")]
        response = HttpResponse(
            json.dumps(data, cls=DjangoJSONEncoder, indent=2), content_type="application/json"
        )
        response["Content-Disposition"] = 'attachment; filename="people.json"'
        return response

    @admin.action(description=_("Erase the selected people's data"), permissions=["delete"])
    def erase_people(self, request, queryset):
        people = list(queryset.select_related("site"))
        if request.POST.get("confirmed") != "yes":
            context = {
                **self.admin_site.each_context(request),  # type: ignore[attr-defined]
                "opts": self.model._meta,  # type: ignore[attr-defined]
                "people": people,
                "title": _("Erase people's data"),
            }
            return TemplateResponse(request, "bento_stripe/admin/erase_confirmation.html", context)
        for person in people:
            erase_person(person.email, person.site.team, by=request.user)
        self.message_user(  # type: ignore[attr-defined]
            request,
            ngettext(
                "Erased %d person (Stripe and Bento were not touched).",
                "Erased %d people (Stripe and Bento were not touched).",
                len(people),
            )
            % len(people),
            messages.SUCCESS,
        )
        return None


@admin.register(ErasureMarker)
class ErasureMarkerAdmin(TeamScopedAdmin):
    """Erased people (by Stripe customer, or by email digest): deleting a marker lifts it,
    and later events rebuild the person."""

    team_path = BY_STRIPE_ACCOUNT
    list_display = ["stripe_account_id", "livemode", "customer_id", "created_at", "created_by"]
    list_filter = ["livemode"]
    search_fields = ["stripe_account_id", "customer_id"]
    readonly_fields = [f.name for f in ErasureMarker._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        lift_marker(obj)

    def delete_queryset(self, request, queryset):
        for marker in queryset:
            lift_marker(marker)
