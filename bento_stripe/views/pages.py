"""The Stripe app page (System → Apps → Stripe) and the Teams page."""

from __future__ import annotations

from collections import defaultdict

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse

from ..models import StripeAccount, get_site_model
from ..policy import get_team_policy


def _teams(user) -> list:
    """The teams the policy lets ``user`` see, by name."""
    return list(get_team_policy().teams(user).order_by("name", "pk"))


@login_required
def stripe_app(request):
    """What the Stripe app does, and an "Install Stripe App" button for the right team."""
    teams = _teams(request.user)
    wanted = request.GET.get("team_id", "")
    chosen = None
    if wanted.isdigit():
        chosen = next((team for team in teams if team.pk == int(wanted)), None)
    elif len(teams) == 1:
        chosen = teams[0]
    if chosen is not None:
        install_url = reverse("bento_stripe:connect_new", args=[chosen.pk])
    else:
        install_url = reverse("bento_stripe:teams")
    return render(
        request, "bento_stripe/stripe_app.html", {"install_url": install_url, "team": chosen}
    )


@login_required
def teams(request):
    """The user's teams, each with its sites, its Stripe connections and an install button."""
    policy = get_team_policy()
    teams = _teams(request.user)
    team_ids = [team.pk for team in teams]
    managed = set(policy.teams(request.user, manage=True).values_list("pk", flat=True))
    roles = policy.roles(request.user)
    sites = defaultdict(list)
    for site in get_site_model().objects.filter(team__in=team_ids).order_by("name", "pk"):
        sites[site.team_id].append(site)
    accounts = defaultdict(list)
    connections = (
        StripeAccount.objects.filter(team__in=team_ids)
        .select_related("site")
        .order_by("status", "-connected_at", "pk")
    )
    for account in connections:
        accounts[account.team_id].append(account)
    rows = [
        {
            "team": team,
            "role": policy.role_label(roles.get(team.pk, "")),
            "can_manage": team.pk in managed,
            "sites": sites[team.pk],
            "accounts": accounts[team.pk],
        }
        for team in teams
    ]
    context = {"rows": rows, "api_tokens_url": reverse("bento_stripe:api_tokens")}
    return render(request, "bento_stripe/teams.html", context)
