"""The API tokens page: a user makes and revokes the tokens their scripts use."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from ..api_tokens import LIFETIMES, create_token, revoke_token, tokens_of


class TokenForm(forms.Form):
    """How long a new token lives."""

    lifetime = forms.TypedChoiceField(
        label=gettext_lazy("Expires after"),
        choices=[("" if days is None else str(days), label) for days, label in LIFETIMES],
        coerce=lambda value: int(value) if value else None,
        empty_value=None,
        required=False,
        initial="90",
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@sensitive_variables("token")
def api_tokens(request):
    """GET: the user's tokens; POST: make one and show it, this once (never stored whole)."""
    form = TokenForm(request.POST or None)
    token = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            _row, token = create_token(request.user, days=form.cleaned_data["lifetime"])
            status = 201
        else:
            status = 400
    context = {
        "form": form,
        "token": token,
        "tokens": list(tokens_of(request.user)),
    }
    return render(request, "bento_stripe/api_tokens.html", context, status=status)


@login_required
@require_POST
def revoke_api_token(request, digest: str):
    """Revoke one of the user's tokens at once (another user's is a 404-like no-op message)."""
    if revoke_token(request.user, digest):
        messages.success(request, _("The token is revoked: scripts using it are refused now."))
    else:
        messages.error(request, _("No such token of yours (it may be revoked or expired)."))
    return redirect("bento_stripe:api_tokens")
