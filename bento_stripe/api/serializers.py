"""Serializers of the REST API; secrets are never part of any of them."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import (
    BackfillCursor,
    LedgerCharge,
    LedgerDispute,
    LedgerSubscription,
    OutboxEvent,
    SiteModel,
    StripeAccount,
    StripeEventRecord,
    Subscriber,
    get_site_model,
    get_team_model,
)


class TeamSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = get_team_model()
        fields = ["id", "name", "role", "created_at"]

    def get_role(self, team) -> str | None:
        return self.context["roles"].get(team.pk)


class SiteSerializer(serializers.ModelSerializer):
    has_bento_credentials = serializers.BooleanField(read_only=True)

    class Meta:
        model = get_site_model()
        fields = ["id", "team", "name", "bento_site_uuid", "has_bento_credentials", "created_at"]


class IdField(serializers.PrimaryKeyRelatedField):
    """A related object's id: a whole number (``1.5``, ``true`` and ``"x"`` are refused)."""

    def to_internal_value(self, data):
        whole = isinstance(data, int) and not isinstance(data, bool)
        if not (whole or (isinstance(data, str) and data.isdigit())):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class StripeAccountSerializer(serializers.ModelSerializer):
    """A connection; only ``site`` is writable, and only through ``services.change_site``."""

    site = IdField(queryset=get_site_model().objects.all(), help_text="The site the events go to.")

    class Meta:
        model = StripeAccount
        fields = [
            "id",
            "team",
            "site",
            "stripe_user_id",
            "livemode",
            "scope",
            "status",
            "kind",
            "needs_reconnect",
            "display_name",
            "connected_at",
            "disconnected_at",
        ]
        read_only_fields = [f for f in fields if f != "site"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        team_id = getattr(self.instance, "team_id", None)
        field = self.fields.get("site")
        if isinstance(field, IdField) and team_id is not None:
            # Another team's site reads as unknown, like every other object of another team.
            field.queryset = get_site_model().objects.filter(team_id=team_id)  # type: ignore[arg-type]

    def validate_site(self, site: SiteModel) -> SiteModel:
        if self.instance is not None and site.team_id != self.instance.team_id:
            raise serializers.ValidationError("Choose a site of this connection's team.")
        return site


class EventCountsSerializer(serializers.Serializer):
    """How many of the connection's recorded Stripe events are in each processing status."""

    received = serializers.IntegerField()
    processed = serializers.IntegerField()
    ignored = serializers.IntegerField()
    failed = serializers.IntegerField()


class BackfillResourceSerializer(serializers.Serializer):
    """Where one resource (customers, charges, ...) of the history import stands."""

    resource = serializers.ChoiceField(choices=BackfillCursor.Resource.choices)
    label = serializers.CharField()  # type: ignore[assignment]
    state = serializers.ChoiceField(choices=BackfillCursor.State.choices)
    objects_done = serializers.IntegerField(
        help_text="Stripe objects applied so far; people recomputed, for the last step (people)."
    )
    pages_done = serializers.IntegerField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)


class BackfillSerializer(serializers.Serializer):
    """The connection's history import (backfill), as a whole and per resource."""

    state = serializers.ChoiceField(
        choices=["none", "pending", "running", "failed", "stopped", "done"],
        help_text="none: never started; failed: a resource waits on a retry.",
    )
    done = serializers.BooleanField()
    percent = serializers.IntegerField(help_text="Resources finished, in percent.")
    objects_done = serializers.IntegerField(help_text="Stripe objects applied so far, all lists.")
    resources = BackfillResourceSerializer(many=True)


class BackfillStartSerializer(serializers.Serializer):
    """What ``POST .../backfill/`` takes: nothing, or a date to import from."""

    since = serializers.DateField(
        required=False,
        help_text="Only objects created on or after this day (UTC); default: all history.",
    )


class StripeAccountDetailSerializer(StripeAccountSerializer):
    """One connection, with what the list leaves out.

    The place for per-connection state computed on read (the backfill's progress goes
    here, beside ``events``): add a read-only field and fill it in ``get_*``.
    """

    events = serializers.SerializerMethodField(
        help_text="Counts of the connection's recorded Stripe events per processing status."
    )
    backfill = serializers.SerializerMethodField(
        help_text="The import of the account's history (POST .../backfill/ starts or resumes it)."
    )

    class Meta(StripeAccountSerializer.Meta):
        fields = [*StripeAccountSerializer.Meta.fields, "events", "backfill"]
        read_only_fields = [*StripeAccountSerializer.Meta.read_only_fields, "events", "backfill"]

    @extend_schema_field(BackfillSerializer)
    def get_backfill(self, account: StripeAccount) -> dict:
        from ..backfill import services as backfill

        return backfill.state(account).as_dict()

    @extend_schema_field(EventCountsSerializer)
    def get_events(self, account: StripeAccount) -> dict[str, int]:
        from ..history import event_counts

        return event_counts(account)


class DeliverySerializer(serializers.ModelSerializer):
    """A Bento row written for a Stripe event, and how its delivery went."""

    type = serializers.CharField(source="event_type", help_text="Bento event type, or command.")

    class Meta:
        model = OutboxEvent
        fields = [
            "id",
            "site",
            "kind",
            "type",
            "email",
            "status",
            "attempts",
            "last_error",
            "created_at",
            "next_attempt_at",
            "delivered_at",
        ]
        read_only_fields = fields


class StripeEventSerializer(serializers.ModelSerializer):
    """A recorded Stripe event of a connection: how it was processed and what reached Bento."""

    id = serializers.CharField(source="stripe_event_id", help_text="Stripe's event id (evt_...).")
    type = serializers.CharField(source="event_type", help_text="Stripe's event type.")
    created = serializers.IntegerField(help_text="Stripe's created (UNIX seconds).")
    reason = serializers.CharField(
        source="note", help_text="Why the event was ignored, or its last processing error."
    )
    deliveries = serializers.SerializerMethodField(
        help_text="The Bento rows the event made on the team's sites, with their delivery status."
    )

    class Meta:
        model = StripeEventRecord
        fields = [
            "id",
            "type",
            "livemode",
            "created",
            "api_version",
            "status",
            "reason",
            "site",
            "attempts",
            "received_at",
            "processed_at",
            "deliveries",
        ]
        read_only_fields = fields

    @extend_schema_field(DeliverySerializer(many=True))
    def get_deliveries(self, event: StripeEventRecord) -> list[dict]:
        rows = self.context["deliveries"].get(event.stripe_event_id, [])
        return list(DeliverySerializer(rows, many=True).data)


class ReplaySerializer(serializers.Serializer):
    """What a replay queued: the event's delivered Bento rows go out again."""

    replayed = serializers.IntegerField(help_text="Delivered rows queued for delivery again.")
    skipped = serializers.IntegerField(
        help_text="The event's other rows (not delivered yet: they are sent anyway, or held)."
    )
    event = StripeEventSerializer()


# The ledger behind a person. Money is in minor units (cents; yen for JPY), as integers.


class LedgerChargeSerializer(serializers.ModelSerializer):
    stripe_account = serializers.CharField(source="stripe_account_id")

    class Meta:
        model = LedgerCharge
        fields = [
            "charge_id",
            "stripe_account",
            "livemode",
            "customer_id",
            "currency",
            "created",
            "captured",
            "refunded",
        ]
        read_only_fields = fields


class LedgerRefundSerializer(serializers.Serializer):
    """The money refunded on a charge so far (Stripe's cumulative ``amount_refunded``)."""

    charge_id = serializers.CharField()
    stripe_account = serializers.CharField(source="stripe_account_id")
    livemode = serializers.BooleanField()
    currency = serializers.CharField()
    amount = serializers.IntegerField(source="refunded", help_text="Minor units.")


class LedgerDisputeSerializer(serializers.ModelSerializer):
    stripe_account = serializers.CharField(source="stripe_account_id")

    class Meta:
        model = LedgerDispute
        fields = [
            "dispute_id",
            "charge_id",
            "stripe_account",
            "livemode",
            "amount",
            "currency",
            "status",
            "lost",
        ]
        read_only_fields = fields


class SubscriptionItemSerializer(serializers.Serializer):
    price_id = serializers.CharField()
    label = serializers.CharField(  # type: ignore[assignment]  # a field named "label"
        help_text="Price nickname, else product name, else price id."
    )
    currency = serializers.CharField()
    unit_amount = serializers.CharField(
        allow_null=True, help_text="Minor units, as a decimal string; null for usage-based prices."
    )
    quantity = serializers.IntegerField()
    interval = serializers.CharField()
    interval_count = serializers.IntegerField()


class LedgerSubscriptionSerializer(serializers.ModelSerializer):
    stripe_account = serializers.CharField(source="stripe_account_id")
    items = serializers.SerializerMethodField()

    class Meta:
        model = LedgerSubscription
        fields = [
            "subscription_id",
            "stripe_account",
            "livemode",
            "customer_id",
            "status",
            "currency",
            "created",
            "items",
        ]
        read_only_fields = fields

    @extend_schema_field(SubscriptionItemSerializer(many=True))
    def get_items(self, subscription: LedgerSubscription) -> list[dict]:
        items = (subscription.data or {}).get("items") or []
        return [
            {
                "price_id": item.get("price_id", ""),
                "label": item.get("label", ""),
                "currency": item.get("currency", ""),
                "unit_amount": item.get("unit_amount"),
                "quantity": item.get("quantity", 1),
                "interval": item.get("interval", "month"),
                "interval_count": item.get("interval_count", 1),
            }
            for item in items
            if isinstance(item, dict)
        ]


class SubscriberSerializer(serializers.ModelSerializer):
    """A person on a site: the Bento fields, and the ledger rows behind them.

    The rows are those of the Stripe accounts routed to the site now (the ones its
    ``lifetime_value`` and ``mrr`` are computed over), matched by email.
    """

    charges = serializers.SerializerMethodField()
    refunds = serializers.SerializerMethodField()
    disputes = serializers.SerializerMethodField()
    subscriptions = serializers.SerializerMethodField()

    class Meta:
        model = Subscriber
        fields = [
            "id",
            "site",
            "email",
            "fields",
            "updated_at",
            "charges",
            "refunds",
            "disputes",
            "subscriptions",
        ]
        read_only_fields = fields

    def _ledger(self, subscriber: Subscriber):
        return self.context["ledger"].get((subscriber.site_id, subscriber.email.lower()))

    @extend_schema_field(LedgerChargeSerializer(many=True))
    def get_charges(self, subscriber: Subscriber) -> list[dict]:
        ledger = self._ledger(subscriber)
        return list(LedgerChargeSerializer(ledger.charges if ledger else [], many=True).data)

    @extend_schema_field(LedgerRefundSerializer(many=True))
    def get_refunds(self, subscriber: Subscriber) -> list[dict]:
        ledger = self._ledger(subscriber)
        refunded = [c for c in ledger.charges if c.refunded] if ledger else []
        return list(LedgerRefundSerializer(refunded, many=True).data)

    @extend_schema_field(LedgerDisputeSerializer(many=True))
    def get_disputes(self, subscriber: Subscriber) -> list[dict]:
        ledger = self._ledger(subscriber)
        return list(LedgerDisputeSerializer(ledger.disputes if ledger else [], many=True).data)

    @extend_schema_field(LedgerSubscriptionSerializer(many=True))
    def get_subscriptions(self, subscriber: Subscriber) -> list[dict]:
        ledger = self._ledger(subscriber)
        return list(
            LedgerSubscriptionSerializer(ledger.subscriptions if ledger else [], many=True).data
        )
