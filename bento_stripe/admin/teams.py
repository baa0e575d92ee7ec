"""Admin for teams, memberships and sites."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from ..crypto import mask
from ..forms import SiteForm
from ..models import Membership, Site, Team


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
