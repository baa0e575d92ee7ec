"""Connecting a Stripe account: the confirmation page that goes to Stripe, and Stripe's callback."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from ..models import get_site_model
from ..oauth import flow
from .access import team_for
from .forms import SiteChoiceForm

logger = logging.getLogger("bento_stripe.oauth")


@login_required
@require_http_methods(["GET", "POST"])
def connect_new(request, team_id: int):
    """GET: confirm the site events will go to; POST (CSRF-checked): go to Stripe."""
    team, _managing = team_for(request, team_id, manage=True)
    form = SiteChoiceForm(request.POST or None, team=team)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            return HttpResponseRedirect(flow.start(request, team, form.cleaned_data["site"]))
        except ImproperlyConfigured as exc:
            logger.error("Cannot start the Stripe OAuth flow: %s", exc)
            error = _(
                "The Stripe app is not configured on this server (platform key or client id "
                "missing). Ask your administrator."
            )
    status = 400 if request.method == "POST" else 200
    context = {
        "team": team,
        "form": form,
        "has_sites": get_site_model().objects.filter(team=team).exists(),
        "error": error,
    }
    return render(request, "bento_stripe/connect_new.html", context, status=status)


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
