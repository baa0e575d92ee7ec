"""Team-scoped permissions from the team policy: viewers read a team's objects, managers change them."""

from __future__ import annotations

from rest_framework import permissions

from ..policy import get_team_policy


def team_ids_of(user, *, manage: bool = False) -> list[int]:
    """Primary keys of the teams the policy lets ``user`` view (manage, with ``manage``)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(get_team_policy().teams(user, manage=manage).values_list("pk", flat=True))


class IsTeamManagerForWrites(permissions.BasePermission):
    """Reads for anyone who may view the object's team; writes for those who may manage it."""

    message = "Only owners and admins of the team can change its Stripe connections."

    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS:
            return True
        return obj.team_id in team_ids_of(request.user, manage=True)
