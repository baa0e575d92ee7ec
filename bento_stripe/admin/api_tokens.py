"""Admin for API tokens (django-rest-knox's rows): make one for a user, see it once, revoke."""

from __future__ import annotations

import knox.admin  # noqa: F401  (knox registers its own admin first; this one replaces it)
from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken

from .. import api_tokens

if admin.site.is_registered(AuthToken):
    admin.site.unregister(AuthToken)


class TokenAddForm(forms.ModelForm):
    """The user a new token acts as, and how long it lives."""

    lifetime = forms.TypedChoiceField(
        label=_("Expires after"),
        choices=[
            ("" if days is None else str(days), label) for days, label in api_tokens.LIFETIMES
        ],
        coerce=lambda value: int(value) if value else None,
        empty_value=None,
        required=False,
        initial="90",
    )

    class Meta:
        model = AuthToken
        fields = ["user"]


@admin.register(AuthToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens by user; the token itself is shown once, on the page after Add (only its digest is kept)."""

    list_display = ["token_key", "user", "created", "expiry", "is_expired"]
    list_select_related = ["user"]
    list_filter = [("expiry", admin.EmptyFieldListFilter)]
    search_fields = ["token_key", "user__username", "user__email"]
    readonly_fields = ["token_key", "user", "created", "expiry"]
    fields = ["token_key", "user", "created", "expiry"]
    date_hierarchy = "created"

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = TokenAddForm
            kwargs["fields"] = ["user", "lifetime"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ["user", "lifetime"] if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def has_change_permission(self, request, obj=None):
        return False  # a token is made or revoked, never edited

    @admin.display(boolean=True, description=_("expired"))
    def is_expired(self, obj: AuthToken) -> bool:
        return obj.expiry is not None and obj.expiry < timezone.now()

    def save_model(self, request, obj, form, change):
        if change:  # pragma: no cover - has_change_permission is False
            return
        row, token = api_tokens.create_token(obj.user, days=form.cleaned_data["lifetime"])
        obj.digest, obj.token_key, obj.created, obj.expiry = (
            row.digest,
            row.token_key,
            row.created,
            row.expiry,
        )
        request._bento_new_token = token

    def response_add(self, request, obj, post_url_continue=None):
        """Show the new token on this one page (not in a message: those travel in cookies)."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("API token made"),
            "token": request._bento_new_token,
            "row": obj,
        }
        response = TemplateResponse(request, "bento_stripe/admin/token_created.html", context)
        response["Cache-Control"] = "no-store"
        return response
