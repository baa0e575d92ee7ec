"""The REST API: who may do what on every endpoint, bad input, and the one error shape."""

from __future__ import annotations

import pytest

from bento_stripe.models import StripeAccount

from .api_helpers import (
    SECRET,
    account_url,
    assert_error,
    client_for,
    snapshot,
    token_for,
)

pytestmark = pytest.mark.django_db


_account = account_url


def _event(w):
    return f"{_account(w)}events/{w['event'].stripe_event_id}/"


#: Every endpoint: (name, method, path for the world, body, writes).
ENDPOINTS = [
    ("teams", "get", lambda w: "/api/teams/", None, False),
    ("team", "get", lambda w: f"/api/teams/{w['account'].team_id}/", None, False),
    ("sites", "get", lambda w: "/api/sites/", None, False),
    ("site", "get", lambda w: f"/api/sites/{w['account'].site_id}/", None, False),
    ("accounts", "get", lambda w: "/api/stripe-accounts/", None, False),
    ("account", "get", _account, None, False),
    ("patch", "patch", _account, lambda w: {"site": w["second_site"].pk}, True),
    ("put", "put", _account, lambda w: {"site": w["second_site"].pk}, True),
    ("disconnect", "post", lambda w: f"{_account(w)}disconnect/", None, True),
    ("backfill", "post", lambda w: f"{_account(w)}backfill/", lambda w: {}, True),
    ("events", "get", lambda w: f"{_account(w)}events/", None, False),
    ("event", "get", _event, None, False),
    ("replay", "post", lambda w: f"{_event(w)}replay/", None, True),
    ("subscribers", "get", lambda w: "/api/subscribers/", None, False),
    ("subscriber", "get", lambda w: f"/api/subscribers/{w['subscriber'].pk}/", None, False),
]
DETAIL = {
    "events",
    "team",
    "site",
    "account",
    "patch",
    "put",
    "disconnect",
    "backfill",
    "event",
    "replay",
    "subscriber",
}
WRITES = [e for e in ENDPOINTS if e[4]]
READS = [e for e in ENDPOINTS if not e[4]]
ids = [e[0] for e in ENDPOINTS]


def name_of(endpoint) -> str:
    return endpoint[0]


def call(client, endpoint, w, **kwargs):
    _name, method, path, body, _writes = endpoint
    data = body(w) if body else None
    return getattr(client, method)(path(w), data, format="json", **kwargs)


# --- Access ---


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids)
def test_logged_out_is_401_on_every_endpoint(world, endpoint):
    before = snapshot()
    response = call(client_for(), endpoint, world)
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"
    assert snapshot() == before


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e[0] in DETAIL], ids=name_of)
@pytest.mark.parametrize("who", ["outsider", "nobody"])
def test_non_member_gets_404_on_every_object(world, endpoint, who):
    before = snapshot()
    assert_error(call(client_for(world[who]), endpoint, world), 404, "not_found")
    assert snapshot() == before


# The events list is nested under a connection: for a non-member that connection is a 404.
@pytest.mark.parametrize(
    "endpoint", [e for e in READS if e[0] not in DETAIL | {"events"}], ids=name_of
)
def test_non_member_lists_hold_nothing_of_the_team(world, endpoint):
    response = call(client_for(world["nobody"]), endpoint, world)
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize("endpoint", READS, ids=name_of)
@pytest.mark.parametrize("who", ["member", "admin", "owner"])
def test_members_read(world, endpoint, who):
    response = call(client_for(world[who]), endpoint, world)
    assert response.status_code == 200, response.content
    assert SECRET not in response.content.decode()


@pytest.mark.parametrize("endpoint", WRITES, ids=name_of)
def test_member_without_the_role_gets_403_on_writes(world, endpoint):
    before = snapshot()
    assert_error(call(client_for(world["member"]), endpoint, world), 403, "permission_denied")
    assert snapshot() == before


@pytest.mark.parametrize("endpoint", WRITES, ids=name_of)
def test_session_writes_without_csrf_are_403_and_change_nothing(world, endpoint):
    before = snapshot()
    response = call(client_for(world["owner"], csrf=True), endpoint, world)
    body = assert_error(response, 403, "permission_denied")
    assert "CSRF" in body["detail"]
    assert snapshot() == before


@pytest.mark.parametrize("endpoint", WRITES, ids=name_of)
@pytest.mark.parametrize("who", ["owner", "admin"])
def test_managers_write(world, endpoint, who, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = call(client_for(world[who], csrf=False), endpoint, world)
    assert response.status_code == 200, response.content


# --- API tokens ---


@pytest.mark.parametrize("endpoint", READS, ids=name_of)
def test_a_token_reads_like_its_users_session(world, endpoint):
    token = token_for(world["member"])
    by_token = call(client_for(token=token), endpoint, world)
    by_session = call(client_for(world["member"]), endpoint, world)
    assert by_token.status_code == 200
    assert by_token.json() == by_session.json()


@pytest.mark.parametrize("endpoint", WRITES, ids=name_of)
def test_a_token_of_a_plain_member_cannot_write(world, endpoint):
    token = token_for(world["member"])
    before = snapshot()
    assert_error(call(client_for(token=token), endpoint, world), 403, "permission_denied")
    assert snapshot() == before


def test_an_owners_token_writes_without_csrf(world, django_capture_on_commit_callbacks):
    account = world["account"]
    client = client_for(token=token_for(world["owner"]), csrf=True)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"/api/stripe-accounts/{account.pk}/disconnect/")
    assert response.status_code == 200, response.content
    assert StripeAccount.objects.get(pk=account.pk).status == "disconnected"


def test_a_token_reaches_only_its_users_teams(world):
    client = client_for(token=token_for(world["outsider"]))
    assert_error(client.get(f"/api/stripe-accounts/{world['account'].pk}/"), 404, "not_found")
    accounts = client.get("/api/stripe-accounts/").json()["results"]
    assert [a["id"] for a in accounts] == [world["other"].pk]


def test_a_revoked_token_is_refused(world):
    from bento_stripe import api_tokens

    row, token = api_tokens.create_token(world["member"], days=30)
    client = client_for(token=str(token))
    assert client.get("/api/teams/").status_code == 200
    assert api_tokens.revoke_token(world["member"], row.digest)
    assert_error(client.get("/api/teams/"), 401, "authentication_failed")


def test_an_expired_token_is_refused(world, settings):
    from datetime import timedelta

    from django.utils import timezone
    from knox.models import AuthToken

    token = token_for(world["member"], days=1)
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    assert_error(client_for(token=token).get("/api/teams/"), 401, "authentication_failed")


@pytest.mark.parametrize(
    "header",
    ["Token", "Token a b", "Token not-a-token", "Token " + "0" * 64, "Token \xff\xfe"],
    ids=["empty", "spaces", "short", "unknown", "not-utf8"],
)
def test_bad_token_headers_are_401(world, header):
    response = client_for().get("/api/teams/", HTTP_AUTHORIZATION=header)
    assert_error(response, 401, "authentication_failed")


def test_a_token_of_an_inactive_user_is_refused(world):
    token = token_for(world["member"])
    world["member"].is_active = False
    world["member"].save()
    assert_error(client_for(token=token).get("/api/teams/"), 401, "authentication_failed")
