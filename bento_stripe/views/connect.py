"""Connecting a Stripe account: the confirmation page that goes to Stripe, and Stripe's callback."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..logs import get_logger
from ..models import get_site_model
from ..oauth import app_install as app_api
from ..oauth import flow
from .access import account_for, team_for
from .forms import ConnectForm

logger = get_logger("bento_stripe.oauth")


@login_required
@require_http_methods(["GET", "POST"])
def connect_new(request, team_id: int):
    """GET: confirm the site events will go to; POST (CSRF-checked): go to Stripe."""
    team, _managing = team_for(request, team_id, manage=True)
    app = app_api.install_kind() == app_api.KIND_APP
    modes = app_api.modes() if app else []
    form = ConnectForm(request.POST or None, team=team, modes=modes)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            url = flow.start(
                request, team, form.cleaned_data["site"], livemode=form.livemode(modes)
            )
            return HttpResponseRedirect(url)
        except ImproperlyConfigured as exc:
            logger.error("Cannot start the Stripe OAuth flow: %s", exc)
            error = str(_NOT_CONFIGURED)
    status = 400 if request.method == "POST" else 200
    context = {
        "team": team,
        "form": form,
        "has_sites": get_site_model().objects.filter(team=team).exists(),
        "error": error,
        "app_install": app,
    }
    return render(request, "bento_stripe/connect_new.html", context, status=status)


_NOT_CONFIGURED = gettext_lazy(
    "The Stripe app is not configured on this server (platform key, client id or install "
    "link missing). Ask your administrator."
)


@login_required
@require_POST
def account_reconnect(request, team_id: int, pk: int):
    """Install the Stripe App again for a connection that needs it (same site and mode)."""
    account, team, _role = account_for(request, team_id, pk, manage=True)
    if not account.is_app:
        messages.error(request, _("Only a Stripe App connection is reconnected here."))
        return redirect("bento_stripe:account_review", team_id=team.pk, pk=account.pk)
    try:
        url = flow.start(
            request, team, account.site, kind=app_api.KIND_APP, livemode=account.livemode
        )
    except ImproperlyConfigured as exc:
        logger.error(
            "Cannot start the Stripe App install again: %s", exc, account=account.stripe_user_id
        )
        messages.error(request, _NOT_CONFIGURED)
        return redirect("bento_stripe:account_review", team_id=team.pk, pk=account.pk)
    return HttpResponseRedirect(url)


@login_required
@require_GET
def oauth_callback(request):
    """The one redirect URI registered at Stripe: finish the flow and say what happened."""
    try:
        outcome = flow.finish(request)
    except ImproperlyConfigured as exc:
        logger.error("Cannot finish the Stripe OAuth flow: %s", exc)
        outcome = flow.Outcome(
            "stripe_error",
            _(
                "The Stripe app is not configured on this server (platform key, client id or "
                "encryption key missing). Ask your administrator."
            ),
            status=503,
        )
    if outcome.kind == "connected" and outcome.team and outcome.account:
        messages.success(request, outcome.message)
        return redirect(
            "bento_stripe:account_review", team_id=outcome.team.pk, pk=outcome.account.pk
        )
    retry_url = reverse("bento_stripe:connect_new", args=[outcome.team.pk]) if outcome.team else ""
    return render(
        request,
        "bento_stripe/oauth_result.html",
        {"outcome": outcome, "retry_url": retry_url},
        status=outcome.status,
    )
