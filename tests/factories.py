"""factory-boy factories for every model of bento-stripe.

Teams and sites are made through the swappable settings (the app's own models, or a host's
under ``tests/swapped_settings.py``); ``MembershipFactory(team=, user=, role=)`` gives a
user a role in a team the way the team policy in use reads it.
"""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from bento_stripe.conf import DEFAULT_TEAM_MODEL, site_model_label, team_model_label
from bento_stripe.models import Membership, OutboxEvent, StripeAccount, Subscriber


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("password")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = team_model_label()

    name = factory.Sequence(lambda n: f"Team {n}")


class AppMembershipFactory(factory.django.DjangoModelFactory):
    """A bento_stripe Membership row (what the default MembershipPolicy reads)."""

    class Meta:
        model = Membership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.OWNER


def _membership_factory() -> type[factory.django.DjangoModelFactory]:
    if team_model_label() == DEFAULT_TEAM_MODEL:
        return AppMembershipFactory
    # The host stand-in's seats, which its SeatPolicy reads (tests/swapped_settings.py).
    from tests.swapped_app.factories import SeatFactory

    return SeatFactory


MembershipFactory = _membership_factory()


def reported_role(role: str) -> str:
    """The role name the team policy in use reports (API, pages) for a ``MembershipFactory`` role."""
    if team_model_label() == DEFAULT_TEAM_MODEL:
        return role
    from tests.swapped_app.factories import LEVEL_OF_ROLE

    return str(LEVEL_OF_ROLE[Membership.Role(role)])


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = site_model_label()

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"Site {n}")
    bento_site_uuid = factory.Sequence(lambda n: f"{n:08x}-0000-4000-8000-000000000000")
    bento_publishable_key = factory.Sequence(lambda n: f"p{n:031d}")
    bento_secret_key = factory.Sequence(lambda n: f"s{n:031d}")


class StripeAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StripeAccount

    team = factory.SubFactory(TeamFactory)
    site = factory.SubFactory(SiteFactory, team=factory.SelfAttribute("..team"))
    stripe_user_id = factory.Sequence(lambda n: f"acct_{n:016d}")
    livemode = False
    scope = "read_only"
    status = StripeAccount.Status.ACTIVE
    display_name = factory.Sequence(lambda n: f"Shop {n}")
    connected_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _with_site_team(cls, kwargs):
        # StripeAccountFactory(site=s) connects the account to s's team.
        if kwargs.get("site") is not None and "team" not in kwargs:
            kwargs["team"] = kwargs["site"].team
        return kwargs

    @classmethod
    def create(cls, **kwargs):
        return super().create(**cls._with_site_team(kwargs))

    @classmethod
    def build(cls, **kwargs):
        return super().build(**cls._with_site_team(kwargs))


class SubscriberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscriber

    site = factory.SubFactory(SiteFactory)
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    fields = factory.LazyFunction(lambda: {"lifetime_value": 0, "currency": "USD"})


class OutboxEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboxEvent

    site = factory.SubFactory(SiteFactory)
    kind = OutboxEvent.Kind.EVENT
    event_type = "$ChargeSucceeded"
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    stripe_event_id = factory.Sequence(lambda n: f"evt_{n:016d}")
    dedupe_key = factory.LazyAttribute(lambda o: f"{o.stripe_event_id}:{o.event_type}")
    payload = factory.LazyAttribute(
        lambda o: {
            "type": o.event_type,
            "email": o.email,
            "date": "2026-11-28T10:00:00Z",
            "fields": {},
            "details": {"stripe_event_id": o.stripe_event_id},
        }
    )
