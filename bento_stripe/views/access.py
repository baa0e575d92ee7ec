"""Who may see and change a team's Stripe connections on the account pages."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from ..models import Membership, StripeAccount, Team


def team_for(request, team_id: int, *, manage: bool = False) -> tuple[Team, str]:
    """The team and the user's role: 404 for non-members, 403 for plain members when ``manage``."""
    team = Team.objects.filter(pk=team_id).first()
    role = team.role_of(request.user) if team else None
    if team is None or role is None:
        raise Http404("No such team.")
    if manage and role not in Membership.MANAGER_ROLES:
        raise PermissionDenied("Only owners and admins of the team can do this.")
    return team, role


def account_for(request, team_id: int, pk: int, *, manage: bool = False):
    """A connection of a team the user belongs to, with the team and the user's role."""
    team, role = team_for(request, team_id, manage=manage)
    account = get_object_or_404(
        StripeAccount.objects.select_related("site", "connected_by"), pk=pk, team=team
    )
    return account, team, role


def can_manage(role: str | None) -> bool:
    """Whether a role may connect, re-route and disconnect Stripe accounts."""
    return role in Membership.MANAGER_ROLES
