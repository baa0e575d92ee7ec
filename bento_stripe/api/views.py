"""Viewsets of the REST API: every change goes through ``bento_stripe.services``."""

from __future__ import annotations

from rest_framework import mixins, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import services
from ..models import StripeAccount, Subscriber, get_site_model
from ..policy import get_team_policy
from .permissions import IsTeamManagerForWrites, team_ids_of
from .serializers import (
    SiteSerializer,
    StripeAccountSerializer,
    SubscriberSerializer,
    TeamSerializer,
)


def _filter_int(request, name: str) -> int | None:
    value = request.query_params.get(name, "")
    return int(value) if value.isdigit() else None


class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    """The teams of the signed-in user, with their role."""

    serializer_class = TeamSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        return get_team_policy().teams(self.request.user).order_by("name", "pk")

    def get_serializer_context(self):
        context = dict(super().get_serializer_context())
        context["roles"] = get_team_policy().roles(self.request.user)
        return context


class SiteViewSet(viewsets.ReadOnlyModelViewSet):
    """Sites of the user's teams (``?team=<id>`` narrows); keys are never exposed."""

    serializer_class = SiteSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        queryset = get_site_model().objects.filter(team_id__in=team_ids_of(self.request.user))
        team = _filter_int(self.request, "team")
        return queryset.filter(team_id=team) if team is not None else queryset


class StripeAccountViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Stripe connections of the user's teams: PATCH ``site`` re-routes, POST disconnect stops."""

    serializer_class = StripeAccountSerializer
    permission_classes = [permissions.IsAuthenticated, IsTeamManagerForWrites]

    def get_queryset(self):
        queryset = StripeAccount.objects.filter(team_id__in=team_ids_of(self.request.user))
        team = _filter_int(self.request, "team")
        return queryset.filter(team_id=team) if team is not None else queryset

    def perform_update(self, serializer):
        site = serializer.validated_data.get("site")
        if site is not None:
            serializer.instance = services.change_site(
                serializer.instance, site, by=self.request.user
            )

    @action(detail=True, methods=["post"])
    def disconnect(self, request, pk=None):
        account = services.disconnect(self.get_object(), by=request.user)
        return Response(self.get_serializer(account).data)


class SubscriberViewSet(viewsets.ReadOnlyModelViewSet):
    """Each person's current Bento fields per site (``?site=<id>``, ``?email=``)."""

    serializer_class = SubscriberSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        queryset = Subscriber.objects.filter(site__team_id__in=team_ids_of(self.request.user))
        site = _filter_int(self.request, "site")
        if site is not None:
            queryset = queryset.filter(site_id=site)
        email = self.request.query_params.get("email")
        return queryset.filter(email__iexact=email) if email else queryset
