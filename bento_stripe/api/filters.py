"""django-filter filter sets of the API's lists (a bad value is a 400 in the error shape)."""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField, MultipleChoiceField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from ..models import OutboxEvent, StripeAccount, StripeEventRecord, Subscriber, get_site_model

#: The largest id a database's bigint holds (a larger one would be a database error).
MAX_ID = 2**63 - 1


class IdField(forms.IntegerField):
    """An id: digits only, 1 to ``MAX_ID`` (``1.5``, ``1.0`` and ``-1`` are refused)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        text = "" if value is None else str(value)
        if text and not re.fullmatch(r"[0-9]+", text):
            raise forms.ValidationError("Enter an id: a whole number from 1.", code="invalid")
        return super().to_python(text)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(filters.NumberFilter):
    """A primary key."""

    field_class = IdField


class StrictBooleanField(forms.Field):
    """``true``/``false`` (or ``1``/``0``); anything else is refused rather than ignored."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise forms.ValidationError("Enter true or false.", code="invalid")


@extend_schema_field(OpenApiTypes.BOOL)
class BooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs):
        # django-filter's BooleanWidget reads an unknown value as "no filter": keep it.
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class ChoicesField(MultipleChoiceField):
    """Several choices (``?status=a&status=b``); an empty value (``?status=``) is no filter."""

    def to_python(self, value):
        return [v for v in super().to_python(value) if v != ""]


class MultipleChoiceFilter(filters.MultipleChoiceFilter):
    field_class = ChoicesField


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 date and time, read in UTC (PostgreSQL refuses offsets past 15:59)."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(dt.UTC)
        except OverflowError:
            # Past the ends of Python's calendar in UTC: the nearest end (nothing lies beyond).
            edge = dt.datetime.min if moment.year == dt.MINYEAR else dt.datetime.max
            return edge.replace(tzinfo=dt.UTC)


class DateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class SiteFilter(filters.FilterSet):
    team = IdFilter(field_name="team_id", help_text="Only this team's sites.")

    class Meta:
        model = get_site_model()
        fields = ["team"]


class StripeAccountFilter(filters.FilterSet):
    team = IdFilter(field_name="team_id", help_text="Only this team's connections.")
    site = IdFilter(field_name="site_id", help_text="Only connections to this site.")
    status = filters.ChoiceFilter(choices=StripeAccount.Status.choices)
    livemode = BooleanFilter()

    class Meta:
        model = StripeAccount
        fields = ["team", "site", "status", "livemode"]


class StripeEventFilter(filters.FilterSet):
    status = MultipleChoiceFilter(
        choices=StripeEventRecord.Status.choices,
        help_text="Processing status (repeat the parameter for several).",
    )
    type = filters.CharFilter(
        field_name="event_type",
        help_text="Stripe event type, exactly (charge.succeeded), or a prefix ending in a dot (charge.).",
        method="filter_type",
    )
    delivery_status = filters.ChoiceFilter(
        choices=OutboxEvent.Status.choices,
        method="filter_delivery_status",
        help_text="Only events with a Bento row in this delivery status.",
    )
    received_after = DateTimeFilter(
        field_name="received_at", lookup_expr="gte", help_text="Received at or after (ISO 8601)."
    )
    received_before = DateTimeFilter(
        field_name="received_at", lookup_expr="lt", help_text="Received before (ISO 8601)."
    )

    class Meta:
        model = StripeEventRecord
        fields = ["status", "type", "delivery_status", "received_after", "received_before"]

    def filter_type(self, queryset, name, value):
        if value.endswith("."):
            return queryset.filter(event_type__startswith=value)
        return queryset.filter(event_type=value)

    def filter_delivery_status(self, queryset, name, value):
        # Only the rows written for this connection's team (its view knows the connection).
        account = self.request.parser_context["view"].account
        rows = OutboxEvent.objects.filter(status=value, site__team_id=account.team_id)
        return queryset.filter(stripe_event_id__in=rows.values("stripe_event_id"))


class SubscriberFilter(filters.FilterSet):
    site = IdFilter(field_name="site_id", help_text="Only people of this site.")
    team = IdFilter(field_name="site__team_id", help_text="Only this team's people.")
    email = filters.CharFilter(
        field_name="email", lookup_expr="iexact", help_text="The email, any case."
    )

    class Meta:
        model = Subscriber
        fields = ["site", "team", "email"]
