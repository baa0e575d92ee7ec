"""Admin for teams, memberships and sites.

The app's own Team and Site get their admin here; a host that swaps them
(``BENTO_STRIPE_TEAM_MODEL``, ``BENTO_STRIPE_SITE_MODEL``) keeps registering its own
models, and may build on :class:`SiteAdmin` (masked Bento secret key) for its site model.
The members inline appears while the team policy is the app's ``MembershipPolicy``:
another policy keeps its memberships elsewhere.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from ..crypto import mask
from ..forms import SiteForm
from ..models import Membership, Site, Team, get_site_model
from ..policy import MembershipPolicy, get_team_policy
from .scoping import TeamScopedAdmin, related_only


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class SiteInline(admin.TabularInline):
    model = get_site_model()
    form = SiteForm
    extra = 0
    fields = ["name", "bento_site_uuid", "bento_publishable_key", "bento_secret_key"]


#: The site forms post a Bento secret key (inline ones under prefixed names): error
#: reports show none of a changeform's POST values.
_secret_post = method_decorator(sensitive_post_parameters())


class TeamAdmin(TeamScopedAdmin):
    team_path = "pk"
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline, SiteInline]

    def get_inlines(self, request, obj):
        """Members only under the membership policy: a host policy keeps them elsewhere."""
        if isinstance(get_team_policy(), MembershipPolicy):
            return self.inlines
        return [inline for inline in self.inlines if inline is not MembershipInline]

    @_secret_post
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)


class SiteAdmin(TeamScopedAdmin):
    form = SiteForm
    list_display = ["name", "team", "bento_site_uuid", "masked_secret_key"]
    list_filter = related_only("team")
    search_fields = ["name", "bento_site_uuid", "team__name"]
    list_select_related = ["team"]

    @_secret_post
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("Bento secret key"))
    def masked_secret_key(self, obj):
        return mask(obj.bento_secret_key) or "—"


# Swapped models are the host's to register (a swapped model has no table of its own).
if not Team._meta.swapped:
    admin.site.register(Team, TeamAdmin)
if not Site._meta.swapped:
    admin.site.register(Site, SiteAdmin)
