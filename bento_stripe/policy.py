"""Who may view and who may manage a team: the one rule the pages, the API and the admin ask.

``BENTO_STRIPE['TEAM_POLICY']`` names the policy: a :class:`TeamPolicy` subclass, or any
callable returning an object with the same methods. Only :meth:`TeamPolicy.teams` must
be written; the other methods are derived from it and may be overridden to save queries.
The default, :class:`MembershipPolicy`, reads the app's ``Membership`` rows (owners and
admins manage, members view). A host with its own membership tables writes its own::

    class OrganisationPolicy(TeamPolicy):
        def teams(self, user, *, manage=False):
            seats = Seat.objects.filter(user=user)
            if manage:
                seats = seats.filter(level__in=["owner", "editor"])
            return get_team_model().objects.filter(seats__in=seats).distinct()

"Viewing" a team is seeing its sites, Stripe connections and subscribers; "managing" it
is connecting, re-routing and disconnecting its Stripe accounts.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.utils.module_loading import import_string

from .conf import app_settings
from .models import Membership, TeamModel, get_team_model


def _authenticated(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False))


class TeamPolicy:
    """The rule "may this user view / manage this team"; subclass and write :meth:`teams`."""

    #: Role names shown for the teams a user may view when the policy has no roles of its own.
    MANAGER = "manager"
    VIEWER = "member"

    def teams(self, user: Any, *, manage: bool = False) -> QuerySet:
        """The teams ``user`` may view, or may manage with ``manage``: a queryset of the team
        model (anonymous users: none)."""
        raise NotImplementedError(f"{type(self).__qualname__} must define teams(user, manage=)")

    def can_view(self, user: Any, team: TeamModel) -> bool:
        """Whether ``user`` may see ``team``'s sites, connections and subscribers."""
        return _authenticated(user) and self.teams(user).filter(pk=team.pk).exists()

    def can_manage(self, user: Any, team: TeamModel) -> bool:
        """Whether ``user`` may connect, re-route and disconnect ``team``'s Stripe accounts."""
        return _authenticated(user) and self.teams(user, manage=True).filter(pk=team.pk).exists()

    def roles(self, user: Any) -> dict[Any, str]:
        """The user's role in each team they may view, by team primary key (for display)."""
        if not _authenticated(user):
            return {}
        managed = set(self.teams(user, manage=True).values_list("pk", flat=True))
        return {
            pk: self.MANAGER if pk in managed else self.VIEWER
            for pk in self.teams(user).values_list("pk", flat=True)
        }

    def role_label(self, role: str) -> str:
        """A role name as people read it."""
        return role.replace("_", " ").capitalize()


class MembershipPolicy(TeamPolicy):
    """The default: a ``Membership`` row makes a viewer; owners and admins manage."""

    def _memberships(self, user: Any, *, manage: bool = False) -> QuerySet[Membership]:
        if not _authenticated(user):
            return Membership.objects.none()
        memberships = Membership.objects.filter(user=user)
        if manage:
            memberships = memberships.filter(role__in=Membership.MANAGER_ROLES)
        return memberships

    def teams(self, user: Any, *, manage: bool = False) -> QuerySet:
        team_ids = self._memberships(user, manage=manage).values("team_id")
        return get_team_model().objects.filter(pk__in=team_ids)

    def can_view(self, user: Any, team: TeamModel) -> bool:
        return self._memberships(user).filter(team_id=team.pk).exists()

    def can_manage(self, user: Any, team: TeamModel) -> bool:
        return self._memberships(user, manage=True).filter(team_id=team.pk).exists()

    def roles(self, user: Any) -> dict[Any, str]:
        return dict(self._memberships(user).values_list("team_id", "role"))

    def role_label(self, role: str) -> str:
        try:
            return str(Membership.Role(role).label)
        except ValueError:
            return super().role_label(role)


def load_team_policy(path: Any) -> Any:
    """The policy object ``path`` names (a class or a callable returning a policy)."""
    if not isinstance(path, str) or not path:
        raise ImproperlyConfigured(
            "settings.BENTO_STRIPE['TEAM_POLICY'] must be the dotted path of a TeamPolicy "
            "subclass (or of a callable returning a policy)."
        )
    try:
        factory = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"settings.BENTO_STRIPE['TEAM_POLICY'] = {path!r} cannot be imported: {exc}"
        ) from exc
    if not callable(factory):
        raise ImproperlyConfigured(
            f"settings.BENTO_STRIPE['TEAM_POLICY'] = {path!r} is not a class or a callable."
        )
    policy = factory()
    missing = [
        name
        for name in ("teams", "can_view", "can_manage", "roles", "role_label")
        if not callable(getattr(policy, name, None))
    ]
    if missing:
        raise ImproperlyConfigured(
            f"settings.BENTO_STRIPE['TEAM_POLICY'] = {path!r} gives a policy without "
            f"{', '.join(missing)}: subclass bento_stripe.policy.TeamPolicy."
        )
    return policy


def get_team_policy() -> TeamPolicy:
    """The policy in use (read from the settings on every call, so override_settings works)."""
    return load_team_policy(app_settings.TEAM_POLICY)
