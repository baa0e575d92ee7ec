"""A person's data through the API: export and erase, for the team's managers.

``POST /api/subscribers/export/`` and ``POST /api/subscribers/erase/`` with
``{"email": ..., "team": <id>}``; the same services as the commands and the admin
(``bento_stripe.operations.privacy``). Neither touches Stripe or Bento.
"""

from __future__ import annotations

from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from ..models import get_team_model
from ..operations.privacy import erase_person, export_person
from .permissions import team_ids_of
from .schema import api_schema


class PersonRequestSerializer(serializers.Serializer):
    """Whose data, in which team."""

    email = serializers.EmailField()
    team = serializers.IntegerField(min_value=1)


class ExportSerializer(serializers.Serializer):
    """Everything stored about a person: rows as the app keeps them (money in minor units)."""

    email = serializers.EmailField()
    team = serializers.IntegerField()
    exported_at = serializers.DateTimeField()
    customers = serializers.ListField(child=serializers.DictField())
    charges = serializers.ListField(child=serializers.DictField())
    disputes = serializers.ListField(child=serializers.DictField())
    subscriptions = serializers.ListField(child=serializers.DictField())
    subscribers = serializers.ListField(child=serializers.DictField())
    deliveries = serializers.ListField(child=serializers.DictField())
    events = serializers.ListField(child=serializers.DictField())
    webhook_requests = serializers.ListField(child=serializers.DictField())
    task_results = serializers.ListField(child=serializers.DictField())


class ErasureSerializer(serializers.Serializer):
    """What an erasure removed."""

    email = serializers.EmailField()
    team = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())
    markers = serializers.IntegerField()


class PersonDataMixin:
    """The export and erase actions of the subscribers viewset."""

    def _team(self, request):
        body = PersonRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        team_id = body.validated_data["team"]
        if team_id not in team_ids_of(request.user, manage=True):
            if team_id in team_ids_of(request.user):
                raise exceptions.PermissionDenied(
                    "Only owners and admins of the team can export or erase a person's data."
                )
            raise exceptions.NotFound("No such team.")
        return body.validated_data["email"], get_team_model().objects.get(pk=team_id)

    @api_schema(request=PersonRequestSerializer, responses=ExportSerializer)
    @action(detail=False, methods=["post"], url_path="export")
    def export(self, request):
        """Everything stored about a person in the team's connections and sites, as JSON."""
        email, team = self._team(request)
        return Response(export_person(email, team))

    @api_schema(request=PersonRequestSerializer, responses=ErasureSerializer)
    @action(detail=False, methods=["post"], url_path="erase")
    def erase(self, request):
        """Delete what is stored about a person in the team, and leave erasure markers so
        later Stripe events do not rebuild them (Stripe and Bento are not touched)."""
        email, team = self._team(request)
        report = erase_person(email, team, by=request.user)
        return Response(
            {
                "email": report.email,
                "team": team.pk,
                "counts": report.counts,
                "markers": report.markers,
            }
        )
