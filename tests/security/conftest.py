"""A small world for the security suite: team A with its connection and data, team B, and
every kind of actor the access rules name."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from bento_stripe.models import (
    BackfillCursor,
    CataloguePrice,
    CatalogueProduct,
    ErasureMarker,
    LedgerCharge,
    LedgerCustomer,
    LedgerDispute,
    LedgerSubscription,
    Membership,
    OutboxEvent,
    Reroute,
    StripeEventRecord,
)
from tests.factories import (
    MembershipFactory,
    OutboxEventFactory,
    SiteFactory,
    StripeAccountFactory,
    SubscriberFactory,
    UserFactory,
)

#: Every actor of the access matrix, from least to most trusted.
ACTORS = (
    "logged_out",
    "non_member",
    "other_team_member",
    "plain_member",
    "owner",
    "staff_without_permission",
    "view_only_staff",
    "superuser",
)


@dataclass
class World:
    """Team A's objects (what the rules protect) and a logged-in client per actor."""

    account: Any
    second_site: Any
    other_account: Any
    subscriber: Any
    outbox: Any
    event: Any
    users: dict[str, Any] = field(default_factory=dict)

    def client(self, actor: str) -> Client:
        client = Client()
        user = self.users.get(actor)
        if user is not None:
            client.force_login(user)
        return client


@pytest.fixture
def world(db) -> World:
    account = StripeAccountFactory(stripe_user_id="acct_1TeamAShop")
    second_site = SiteFactory(team=account.team, name="Team A second site")
    other_account = StripeAccountFactory(stripe_user_id="acct_1TeamBShop")
    users = {
        "non_member": UserFactory(),
        "other_team_member": MembershipFactory(
            team=other_account.team, role=Membership.Role.OWNER
        ).user,
        "plain_member": MembershipFactory(team=account.team, role=Membership.Role.MEMBER).user,
        "owner": MembershipFactory(team=account.team, role=Membership.Role.OWNER).user,
        "staff_without_permission": UserFactory(is_staff=True),
        "view_only_staff": UserFactory(is_staff=True),
        "superuser": UserFactory(is_staff=True, is_superuser=True),
    }
    users["view_only_staff"].user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="bento_stripe", codename__startswith="view_"
        )
    )
    event = StripeEventRecord.objects.create(
        stripe_event_id="evt_1TeamAEvent",
        event_type="charge.succeeded",
        stripe_account_id=account.stripe_user_id,
        created=1764324000,
        payload={"id": "evt_1TeamAEvent"},
    )
    common = {"stripe_account_id": account.stripe_user_id, "email": "jane@example.com"}
    LedgerCustomer.objects.create(customer_id="cus_1TeamA", **common)
    LedgerCharge.objects.create(charge_id="ch_1TeamA", **common)
    LedgerDispute.objects.create(dispute_id="dp_1TeamA", charge_id="ch_1TeamA", **common)
    LedgerSubscription.objects.create(subscription_id="sub_1TeamA", **common)
    Reroute.objects.create(account=account, old_site=account.site, new_site=second_site)
    BackfillCursor.objects.create(account=account, resource=BackfillCursor.Resource.CUSTOMERS)
    ErasureMarker.objects.create(
        stripe_account_id=account.stripe_user_id,
        customer_id="cus_1TeamAErased",
        email_digest="0" * 64,
    )
    mode = {"stripe_account_id": account.stripe_user_id, "livemode": account.livemode}
    CatalogueProduct.objects.create(product_id="prod_1TeamA", name="Team A course", **mode)
    CataloguePrice.objects.create(price_id="price_1TeamA", product_id="prod_1TeamA", **mode)
    return World(
        account=account,
        second_site=second_site,
        other_account=other_account,
        subscriber=SubscriberFactory(site=account.site),
        outbox=OutboxEventFactory(
            site=account.site,
            stripe_account_id=account.stripe_user_id,
            status=OutboxEvent.Status.DELIVERED,
        ),
        event=event,
        users=users,
    )
