"""Admin for teams, memberships and sites."""

from __future__ import annotations

from django.contrib import admin
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

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


#: The site forms post a Bento secret key (inline ones under prefixed names): error
#: reports show none of a changeform's POST values.
_secret_post = method_decorator(sensitive_post_parameters())


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline, SiteInline]

    @_secret_post
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    form = SiteForm
    list_display = ["name", "team", "bento_site_uuid", "masked_secret_key"]
    list_filter = ["team"]
    search_fields = ["name", "bento_site_uuid", "team__name"]
    list_select_related = ["team"]

    @_secret_post
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("Bento secret key"))
    def masked_secret_key(self, obj):
        return mask(obj.bento_secret_key) or "—"
