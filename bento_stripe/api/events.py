"""A connection's recorded Stripe events, their Bento rows, and Replay."""

from __future__ import annotations

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter
from rest_framework import mixins, permissions
from rest_framework.decorators import action
from rest_framework.response import Response

from ..delivery import services as delivery
from ..history import connection_events, connection_rows, rows_by_event
from ..models import StripeAccount, StripeEventRecord
from .errors import Conflict
from .filters import StripeEventFilter
from .permissions import IsTeamManagerForWrites, team_ids_of
from .schema import api_schema
from .serializers import ReplaySerializer, StripeEventSerializer
from .views import ApiViewSet

ACCOUNT = OpenApiParameter(
    "account_pk", int, OpenApiParameter.PATH, description="The connection's id."
)
EVENT = OpenApiParameter(
    "stripe_event_id", str, OpenApiParameter.PATH, description="Stripe's event id (evt_...)."
)


class StripeEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """The Stripe events recorded for a connection in its own time, newest first.

    Each with its processing status and reason, and the Bento rows it made on the
    team's sites with their delivery status. Members read; owners and admins replay.
    """

    serializer_class = StripeEventSerializer
    filterset_class = StripeEventFilter
    permission_classes = [permissions.IsAuthenticated, IsTeamManagerForWrites]
    lookup_field = "stripe_event_id"
    lookup_url_kwarg = "stripe_event_id"
    extra_errors = ()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authenticates first: 401 before 404
        self.account = get_object_or_404(
            StripeAccount.objects.filter(team_id__in=team_ids_of(request.user)),
            pk=kwargs["account_pk"],
        )

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request
            return StripeEventRecord.objects.none()
        return connection_events(self.account)

    def check_object_permissions(self, request, obj):
        """The events are the connection's: its team decides who may act on them."""
        super().check_object_permissions(request, self.account)

    def _serialize(self, events, *, many: bool):
        items = list(events) if many else [events]
        deliveries = rows_by_event(self.account, [e.stripe_event_id for e in items])
        context = {**self.get_serializer_context(), "deliveries": deliveries}
        return StripeEventSerializer(events, many=many, context=context).data

    @api_schema(parameters=[ACCOUNT])
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self._serialize(page, many=True))

    @api_schema(parameters=[ACCOUNT, EVENT])
    def retrieve(self, request, *args, **kwargs):
        return Response(self._serialize(self.get_object(), many=False))

    @api_schema(parameters=[ACCOUNT, EVENT], request=None, responses=ReplaySerializer)
    @action(detail=True, methods=["post"], filter_backends=[], extra_errors=(409,))
    def replay(self, request, *args, **kwargs):
        """Send the event's delivered Bento rows again (the admin's Replay; Bento dedupes)."""
        event = self.get_object()
        rows = connection_rows(self.account).filter(stripe_event_id=event.stripe_event_id)
        with transaction.atomic():
            total = rows.count()
            replayed = delivery.replay(rows)
        if not replayed:
            raise Conflict(
                f"Stripe event {event.stripe_event_id} has no delivered Bento row to replay "
                f"({total} row(s) in other statuses: those are sent, retried or held as usual)."
            )
        body = {"replayed": replayed, "skipped": total - replayed, "event": event}
        deliveries = rows_by_event(self.account, [event.stripe_event_id])
        return Response(ReplaySerializer(body, context={"deliveries": deliveries}).data)
