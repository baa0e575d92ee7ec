"""Admin pages scoped by the team policy: staff who are not superusers see and change only
the teams they may manage, and those teams' sites, connections, events, deliveries and
people (docs/operations/privacy.rst, "Who sees what")."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet

from ..models import StripeAccount
from ..policy import get_team_policy

#: ``team_path`` of models that name their connection by Stripe account id.
BY_STRIPE_ACCOUNT = "stripe_account_id"
#: Foreign keys whose choices are cut to the managed teams, and their path to the team.
_CHOICES = {"team": "pk", "site": "team", "old_site": "team", "new_site": "team", "account": "team"}
_CHOICES_BY_MODEL = {"connection": "team"}


def managed_team_ids(request: Any) -> list[Any] | None:
    """The teams the admin user may manage (None: all, for superusers); once per request."""
    user = request.user
    if user.is_superuser:
        return None
    cached = getattr(request, "_bento_stripe_managed_teams", None)
    if cached is None:
        cached = list(get_team_policy().teams(user, manage=True).values_list("pk", flat=True))
        request._bento_stripe_managed_teams = cached
    return cached


def scope(team_path: str, team_ids: list[Any]) -> Q:
    """Rows of a model whose team (through ``team_path``) is one of ``team_ids``."""
    if team_path == BY_STRIPE_ACCOUNT:
        accounts = StripeAccount.objects.filter(team_id__in=team_ids).values("stripe_user_id")
        return Q(stripe_account_id__in=accounts)
    return Q(**{f"{team_path}__in": team_ids})


class TeamScopedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose rows, objects and choices follow the team policy for staff."""

    #: The lookup from the model to its team (``"team"``, ``"site__team"``, ``"pk"`` for
    #: the team model itself) or ``BY_STRIPE_ACCOUNT``.
    team_path = "team"

    def get_queryset(self, request: Any) -> QuerySet:
        rows = super().get_queryset(request)
        team_ids = managed_team_ids(request)
        return rows if team_ids is None else rows.filter(scope(self.team_path, team_ids))

    def formfield_for_foreignkey(self, db_field: Any, request: Any, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        team_ids = managed_team_ids(request)
        path = _CHOICES.get(db_field.name) or _CHOICES_BY_MODEL.get(db_field.name)
        if field is not None and team_ids is not None and path is not None:
            assert field.queryset is not None  # noqa: S101  (a ModelChoiceField has one)
            field.queryset = field.queryset.filter(scope(path, team_ids))
        return field


def related_only(*fields: str) -> list[Any]:
    """List filters of related fields that offer only the related rows in the scope."""
    return [(f, admin.RelatedOnlyFieldListFilter) for f in fields]
