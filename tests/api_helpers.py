"""Helpers of the REST API tests: a world of two teams, clients, the error shape, snapshots."""

from __future__ import annotations

import pytest
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from bento_stripe import api_tokens
from bento_stripe.models import (
    BackfillCursor,
    Membership,
    OutboxEvent,
    Reroute,
    StripeAccount,
    StripeEventRecord,
    Subscriber,
)

from .factories import (
    MembershipFactory,
    OutboxEventFactory,
    SiteFactory,
    StripeAccountFactory,
    SubscriberFactory,
    UserFactory,
)

SECRET = "sk_bento_secret_never_in_api"
ERROR_KEYS = {"status", "code", "detail", "fields"}


def record_event(account: StripeAccount, event_id: str, **extra) -> StripeEventRecord:
    """A recorded Stripe event of ``account`` (received now, in its mode)."""
    values = {
        "event_type": "charge.succeeded",
        "status": StripeEventRecord.Status.PROCESSED,
        "created": 1764324000,
        "payload": {"id": event_id, "type": "charge.succeeded"},
        "stripe_account_id": account.stripe_user_id,
        "livemode": account.livemode,
        **extra,
    }
    return StripeEventRecord.objects.create(stripe_event_id=event_id, **values)


def delivered_row(account: StripeAccount, event_id: str, **extra) -> OutboxEvent:
    """A Bento row of ``event_id`` on the account's site, delivered."""
    values = {
        "status": OutboxEvent.Status.DELIVERED,
        "delivered_at": timezone.now(),
        "email": "jane@example.com",
        **extra,
    }
    return OutboxEventFactory(
        site=account.site,
        stripe_event_id=event_id,
        stripe_account_id=account.stripe_user_id,
        connection=account,
        **values,
    )


@pytest.fixture
def world(db):
    """Two teams: ours (owner, admin, member; a connection, an event, a person) and another."""
    account = StripeAccountFactory(site=SiteFactory(bento_secret_key=SECRET))
    second_site = SiteFactory(team=account.team)
    other = StripeAccountFactory()
    event = record_event(account, "evt_world_0001")
    delivered_row(account, event.stripe_event_id)
    other_event = record_event(other, "evt_other_0001")
    subscriber = SubscriberFactory(site=account.site, email="jane@example.com")
    other_subscriber = SubscriberFactory(site=other.site, email="jane@example.com")
    return {
        "account": account,
        "second_site": second_site,
        "event": event,
        "subscriber": subscriber,
        "other": other,
        "other_event": other_event,
        "other_subscriber": other_subscriber,
        "owner": MembershipFactory(team=account.team, role=Membership.Role.OWNER).user,
        "admin": MembershipFactory(team=account.team, role=Membership.Role.ADMIN).user,
        "member": MembershipFactory(team=account.team, role=Membership.Role.MEMBER).user,
        "outsider": MembershipFactory(team=other.team, role=Membership.Role.OWNER).user,
        "nobody": UserFactory(),
    }


def account_url(w) -> str:
    """The world's connection's API URL."""
    return f"/api/stripe-accounts/{w['account'].pk}/"


def client_for(user=None, *, csrf: bool = False, token: str | None = None) -> APIClient:
    """A client signed in as ``user`` (session), or sending ``token``, or anonymous."""
    client = APIClient(enforce_csrf_checks=csrf)
    if user is not None:
        client.force_login(user)
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def token_for(user, days: int | None = 30) -> str:
    """A fresh API token of ``user`` (through the service the pages and the admin use)."""
    return str(api_tokens.create_token(user, days=days)[1])


def assert_error(response, status: int, code: str | None = None) -> dict:
    """``response`` is a 4xx in the API's one error shape; its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["status"] == status and body["detail"]
    assert isinstance(body["fields"], dict)
    if code is not None:
        assert body["code"] == code, body
    return body


def snapshot() -> tuple:
    """What a refused request must leave as it was."""
    return (
        list(StripeAccount.objects.order_by("pk").values_list("pk", "site_id", "status")),
        Reroute.objects.count(),
        list(OutboxEvent.objects.order_by("pk").values_list("pk", "status", "attempts")),
        list(StripeEventRecord.objects.order_by("pk").values_list("pk", "status")),
        list(Subscriber.objects.order_by("pk").values_list("pk", "fields")),
        AuthToken.objects.count(),
        list(BackfillCursor.objects.order_by("pk").values_list("pk", "state", "run")),
    )
