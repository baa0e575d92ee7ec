"""Team-scoped permissions: members read their teams' objects, owners and admins change them."""

from __future__ import annotations

from rest_framework import permissions

from ..models import Membership


def team_ids_of(user, *, manage: bool = False) -> list[int]:
    """Primary keys of the teams ``user`` belongs to (as owner or admin when ``manage``)."""
    if not getattr(user, "is_authenticated", False):
        return []
    memberships = Membership.objects.filter(user=user)
    if manage:
        memberships = memberships.filter(role__in=Membership.MANAGER_ROLES)
    return list(memberships.values_list("team_id", flat=True))


class IsTeamManagerForWrites(permissions.BasePermission):
    """Reads for any member of the object's team; writes for its owners and admins only."""

    message = "Only owners and admins of the team can change its Stripe connections."

    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS:
            return True
        return obj.team_id in team_ids_of(request.user, manage=True)
