"""The Stripe app page (System → Apps → Stripe) and the Teams page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.shortcuts import render
from django.urls import reverse

from ..models import Membership, Site, StripeAccount
from .access import can_manage


def _memberships(user):
    return (
        Membership.objects.filter(user=user)
        .select_related("team")
        .prefetch_related(
            Prefetch("team__sites", queryset=Site.objects.order_by("name", "pk")),
            Prefetch(
                "team__stripe_accounts",
                queryset=StripeAccount.objects.select_related("site").order_by(
                    "status", "-connected_at", "pk"
                ),
            ),
        )
        .order_by("team__name", "team__pk")
    )


@login_required
def stripe_app(request):
    """What the Stripe app does, and an "Install Stripe App" button for the right team."""
    memberships = list(_memberships(request.user))
    wanted = request.GET.get("team_id", "")
    chosen = None
    if wanted.isdigit():
        chosen = next((m for m in memberships if m.team_id == int(wanted)), None)
    elif len(memberships) == 1:
        chosen = memberships[0]
    if chosen is not None:
        install_url = reverse("bento_stripe:connect_new", args=[chosen.team_id])
    else:
        install_url = reverse("bento_stripe:teams")
    return render(
        request,
        "bento_stripe/stripe_app.html",
        {"install_url": install_url, "team": chosen.team if chosen else None},
    )


@login_required
def teams(request):
    """The user's teams, each with its sites, its Stripe connections and an install button."""
    rows = [
        {
            "team": m.team,
            "role": m.get_role_display(),
            "can_manage": can_manage(m.role),
            "sites": list(m.team.sites.all()),
            "accounts": list(m.team.stripe_accounts.all()),
        }
        for m in _memberships(request.user)
    ]
    context = {"rows": rows, "api_tokens_url": reverse("bento_stripe:api_tokens")}
    return render(request, "bento_stripe/teams.html", context)
