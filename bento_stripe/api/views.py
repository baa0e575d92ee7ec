"""Viewsets of the REST API: every change goes through the service layer."""

from __future__ import annotations

from datetime import UTC, datetime

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import mixins, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from .. import services
from ..backfill import services as backfill
from ..exceptions import NotConnectedError
from ..models import StripeAccount, get_site_model
from ..policy import get_team_policy
from .authentication import AUTHENTICATION_CLASSES
from .errors import Conflict, ErrorShapeMixin
from .filters import SiteFilter, StripeAccountFilter
from .pagination import Pagination
from .permissions import IsTeamManagerForWrites, team_ids_of
from .schema import ApiSchema, api_schema
from .serializers import (
    BackfillStartSerializer,
    SiteSerializer,
    StripeAccountDetailSerializer,
    StripeAccountSerializer,
    TeamSerializer,
)


class ApiViewSet(ErrorShapeMixin, viewsets.GenericViewSet):
    """What every viewset of the API shares, whatever the host's DRF defaults say.

    Session and API token authentication, signed-in users only, JSON bodies, the
    error shape, pagination, django-filter and the schema with its error responses.
    """

    authentication_classes = AUTHENTICATION_CLASSES
    parser_classes = [JSONParser]
    permission_classes = [permissions.IsAuthenticated]
    pagination_class = Pagination
    filter_backends = [DjangoFilterBackend]
    schema = ApiSchema()


class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """The teams of the signed-in user, with their role."""

    serializer_class = TeamSerializer
    filter_backends = []

    def get_queryset(self):
        return get_team_policy().teams(self.request.user).order_by("name", "pk")

    def get_serializer_context(self):
        context = dict(super().get_serializer_context())
        context["roles"] = get_team_policy().roles(self.request.user)
        return context


class SiteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Sites of the user's teams (``?team=<id>`` narrows); keys are never exposed."""

    serializer_class = SiteSerializer
    filterset_class = SiteFilter

    def get_queryset(self):
        return (
            get_site_model()
            .objects.filter(team_id__in=team_ids_of(self.request.user))
            .order_by("team_id", "name", "pk")
        )


class StripeAccountViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, ApiViewSet
):
    """Stripe connections of the user's teams: PATCH ``site`` re-routes, POST disconnect stops,
    POST backfill imports the history."""

    permission_classes = [permissions.IsAuthenticated, IsTeamManagerForWrites]
    filterset_class = StripeAccountFilter
    #: Error statuses an action documents beyond the common ones (set per action).
    extra_errors: tuple[int, ...] = ()

    def get_queryset(self):
        return StripeAccount.objects.filter(team_id__in=team_ids_of(self.request.user)).order_by(
            "team_id", "-connected_at", "pk"
        )

    def get_serializer_class(self):
        if self.action == "list":
            return StripeAccountSerializer
        return StripeAccountDetailSerializer

    @api_schema(responses=StripeAccountDetailSerializer)
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @api_schema(request=StripeAccountSerializer, responses=StripeAccountDetailSerializer)
    def partial_update(self, request, *args, **kwargs):
        """Route the connection's events to another site of its team (``{"site": <id>}``)."""
        return super().partial_update(request, *args, **kwargs)

    @api_schema(request=StripeAccountSerializer, responses=StripeAccountDetailSerializer)
    def update(self, request, *args, **kwargs):
        """Route the connection's events to another site of its team (``{"site": <id>}``)."""
        account = self.get_object()
        serializer = StripeAccountSerializer(
            account, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        site = serializer.validated_data.get("site")
        if site is not None:
            account = services.change_site(account, site, by=request.user)
        return Response(StripeAccountDetailSerializer(account).data)

    @api_schema(request=BackfillStartSerializer, responses=StripeAccountDetailSerializer)
    @action(detail=True, methods=["post"], extra_errors=(409,))
    def backfill(self, request, pk=None):
        """Start the import of the account's history, or resume the one under way (fields
        only: no Bento event is sent for history). ``{"since": "YYYY-MM-DD"}`` narrows it."""
        account = self.get_object()
        body = BackfillStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        day = body.validated_data.get("since")
        since = (
            int(datetime.combine(day, datetime.min.time(), tzinfo=UTC).timestamp()) if day else 0
        )
        try:
            backfill.start(account, since=since)
        except NotConnectedError as exc:
            raise Conflict(str(exc)) from None
        account.refresh_from_db()
        return Response(StripeAccountDetailSerializer(account).data)

    @api_schema(request=None, responses=StripeAccountDetailSerializer)
    @action(detail=True, methods=["post"])
    def disconnect(self, request, pk=None):
        """Stop forwarding the connection's events now; Stripe is told in the background."""
        account = services.disconnect(self.get_object(), by=request.user)
        return Response(StripeAccountDetailSerializer(account).data)
