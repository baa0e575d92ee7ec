"""The host's seats made the way tests make bento_stripe memberships (``role=`` owner/admin/member)."""

from __future__ import annotations

import factory

from bento_stripe.models import Membership

from .models import Seat

#: bento_stripe's roles as the host's levels.
LEVEL_OF_ROLE = {
    Membership.Role.OWNER: Seat.Level.OWNER,
    Membership.Role.ADMIN: Seat.Level.EDITOR,
    Membership.Role.MEMBER: Seat.Level.VIEWER,
}


class SeatFactory(factory.django.DjangoModelFactory):
    """``SeatFactory(team=..., user=..., role="admin")``: a seat at the matching level."""

    class Meta:
        model = Seat
        rename = {"team": "organization"}

    class Params:
        role = Membership.Role.OWNER

    organization = factory.SubFactory("tests.factories.TeamFactory")
    user = factory.SubFactory("tests.factories.UserFactory")
    level = factory.LazyAttribute(lambda o: LEVEL_OF_ROLE[Membership.Role(o.role)])
