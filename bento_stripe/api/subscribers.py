"""People: each person's Bento fields on a site and the ledger rows behind them."""

from __future__ import annotations

from rest_framework import mixins
from rest_framework.response import Response

from ..ledger.rows import person_rows
from ..models import Subscriber
from .filters import SubscriberFilter
from .permissions import team_ids_of
from .privacy import PersonDataMixin
from .serializers import SubscriberSerializer
from .views import ApiViewSet


class SubscriberViewSet(
    PersonDataMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet
):
    """People of the user's teams' sites (``?site=<id>&email=`` finds one person).

    Each with the Bento fields and the charges, refunds, disputes and subscriptions
    of the Stripe accounts routed to the site now. Money is in minor units.
    """

    serializer_class = SubscriberSerializer
    filterset_class = SubscriberFilter

    def get_queryset(self):
        return Subscriber.objects.filter(site__team_id__in=team_ids_of(self.request.user)).order_by(
            "site_id", "email", "pk"
        )

    def _serialize(self, people, *, many: bool):
        items = list(people) if many else [people]
        ledger = person_rows((p.site_id, p.email) for p in items)
        context = {**self.get_serializer_context(), "ledger": ledger}
        return SubscriberSerializer(people, many=many, context=context).data

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self._serialize(page, many=True))

    def retrieve(self, request, *args, **kwargs):
        return Response(self._serialize(self.get_object(), many=False))
