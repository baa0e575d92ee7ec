"""Serializers of the REST API; secrets are never part of any of them."""

from __future__ import annotations

from rest_framework import serializers

from ..models import SiteModel, StripeAccount, Subscriber, get_site_model, get_team_model


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


class StripeAccountSerializer(serializers.ModelSerializer):
    """A connection; only ``site`` is writable, and only through ``services.change_site``."""

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

    def validate_site(self, site: SiteModel) -> SiteModel:
        if self.instance is not None and site.team_id != self.instance.team_id:
            raise serializers.ValidationError("Choose a site of this connection's team.")
        return site


class SubscriberSerializer(serializers.ModelSerializer):
    class Meta:
        model = Subscriber
        fields = ["id", "site", "email", "fields", "updated_at"]
