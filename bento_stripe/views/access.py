"""Who may see and change a team's Stripe connections on the account pages (the team policy)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from ..models import StripeAccount, TeamModel
from ..policy import get_team_policy


def team_for(request, team_id: int, *, manage: bool = False) -> tuple[TeamModel, bool]:
    """The team and whether the user may manage it: 404 when the policy lets them not even see
    it, 403 when ``manage`` and they may only see it."""
    policy = get_team_policy()
    team = policy.teams(request.user).filter(pk=team_id).first()
    if team is None:
        raise Http404("No such team.")
    managing = policy.can_manage(request.user, team)
    if manage and not managing:
        raise PermissionDenied("Only owners and admins of the team can do this.")
    return team, managing


def account_for(request, team_id: int, pk: int, *, manage: bool = False):
    """A connection of a team the user may see, with the team and whether they may manage it."""
    team, managing = team_for(request, team_id, manage=manage)
    account = get_object_or_404(
        StripeAccount.objects.select_related("site", "connected_by"), pk=pk, team=team
    )
    return account, team, managing
