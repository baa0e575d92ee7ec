"""Attacks on the OAuth flow: none of them creates or changes a connection, none gets a 500."""

from __future__ import annotations

import time

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from bento_stripe.models import Membership, StripeAccount
from bento_stripe.oauth import state as oauth_state
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.oauth_helpers import callback_path, decide, journey, manager, query, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client, stripe_settings):
    user, team, sites = manager("owner")
    client.force_login(user)
    return user, team, sites


def _nothing_connected(stripe_server):
    assert not StripeAccount.objects.exists()
    assert not stripe_server.state.calls("/oauth/token")


def test_another_teams_member_gets_404(client, stripe_settings, stripe_server):
    _, team, sites = manager("owner")
    stranger, _, _ = manager("owner")
    client.force_login(stranger)
    url = reverse("bento_stripe:connect_new", args=[team.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"site": sites[0].pk}).status_code == 404
    _nothing_connected(stripe_server)


def test_plain_member_gets_403(client, stripe_settings, stripe_server):
    user, team, sites = manager("member")
    client.force_login(user)
    url = reverse("bento_stripe:connect_new", args=[team.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"site": sites[0].pk}).status_code == 403
    _nothing_connected(stripe_server)


def test_logged_out_user_is_sent_to_login(client, stripe_settings, stripe_server):
    _, team, sites = manager("owner")
    for response in (
        client.get(reverse("bento_stripe:connect_new", args=[team.pk])),
        client.post(reverse("bento_stripe:connect_new", args=[team.pk]), {"site": sites[0].pk}),
        client.get(reverse("bento_stripe:oauth_callback"), {"code": "ac_x", "state": "x"}),
    ):
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    _nothing_connected(stripe_server)


def test_site_of_another_team_cannot_be_chosen(client, owner, stripe_server):
    _, team, _ = owner
    _, _, foreign_sites = manager("owner")
    response = start(client, team, foreign_sites[0])
    assert response.status_code == 400
    _nothing_connected(stripe_server)


def _callback_with(client, state_value, code="ac_anything"):
    return client.get(reverse("bento_stripe:oauth_callback"), {"code": code, "state": state_value})


def test_forged_state_is_refused(client, owner, stripe_server):
    _, team, sites = owner
    real = query(start(client, team, sites[0])["Location"])["state"]
    for forged in ("", "garbage", real[:-2] + ("AA" if real[-2:] != "AA" else "BB")):
        response = _callback_with(client, forged)
        assert response.status_code == 400
        assert "not valid any more" in response.content.decode()
    _nothing_connected(stripe_server)


def test_replayed_state_is_refused(client, owner, stripe_server):
    _, team, sites = owner
    response, url = journey(client, team, sites[0])
    assert response.status_code == 302
    StripeAccount.objects.all().delete()
    replay = client.get(callback_path(url))
    assert replay.status_code == 400
    assert not StripeAccount.objects.exists()
    assert len(stripe_server.state.calls("/oauth/token")) == 1


def test_state_from_another_session_is_refused(client, owner, stripe_server):
    user, team, sites = owner
    url = decide(start(client, team, sites[0])["Location"])
    other_session = Client()
    other_session.force_login(user)  # same user, another browser
    assert other_session.get(callback_path(url)).status_code == 400
    _nothing_connected(stripe_server)


def test_state_of_another_user_is_refused(client, owner, stripe_server):
    _, team, sites = owner
    url = decide(start(client, team, sites[0])["Location"])
    intruder = UserFactory()
    MembershipFactory(team=team, user=intruder, role=Membership.Role.OWNER)
    client.force_login(intruder)  # same browser, another user logs in: session flushed
    assert client.get(callback_path(url)).status_code == 400
    _nothing_connected(stripe_server)


def test_expired_state_is_refused(client, owner, stripe_server, monkeypatch):
    _, team, sites = owner
    url = decide(start(client, team, sites[0])["Location"])
    later = time.time() + 601
    monkeypatch.setattr(time, "time", lambda: later)
    response = client.get(callback_path(url))
    assert response.status_code == 400
    _nothing_connected(stripe_server)


def test_state_rebound_to_another_team_is_refused(client, owner, stripe_server):
    user, team, sites = owner
    other_team = TeamFactory()
    MembershipFactory(team=other_team, user=user, role=Membership.Role.OWNER)
    real = query(start(client, team, sites[0])["Location"])["state"]
    payload = signing.loads(real, salt=oauth_state.SALT)
    rebound = signing.dumps({**payload, "t": other_team.pk}, salt=oauth_state.SALT)
    assert _callback_with(client, rebound).status_code == 400
    _nothing_connected(stripe_server)


def test_state_is_refused_when_the_user_lost_the_manager_role(client, owner, stripe_server):
    user, team, sites = owner
    url = decide(start(client, team, sites[0])["Location"])
    Membership.objects.filter(user=user, team=team).update(role=Membership.Role.MEMBER)
    assert client.get(callback_path(url)).status_code == 403
    _nothing_connected(stripe_server)


def test_confirmation_post_without_csrf_token_is_refused(stripe_settings, stripe_server):
    user, team, sites = manager("owner")
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(user)
    url = reverse("bento_stripe:connect_new", args=[team.pk])
    assert csrf_client.get(url).status_code == 200
    assert csrf_client.post(url, {"site": sites[0].pk}).status_code == 403
    assert not csrf_client.session.get(oauth_state.SESSION_KEY)
    _nothing_connected(stripe_server)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"code": "ac_x"},
        {"error": "access_denied"},
        {"state": ["a", "b"], "code": ["c", "d"]},
        {"state": "x" * 5000},
        {"state": signing.dumps(["not", "a", "dict"], salt=oauth_state.SALT)},
        {"state": signing.dumps({"n": ["unhashable"]}, salt=oauth_state.SALT)},
    ],
)
def test_odd_callback_requests_get_a_400_not_a_500(client, owner, stripe_server, params):
    response = client.get(reverse("bento_stripe:oauth_callback"), params)
    assert response.status_code == 400
    _nothing_connected(stripe_server)


def test_callback_with_a_valid_state_but_no_code_creates_nothing(client, owner, stripe_server):
    _, team, sites = owner
    state_value = query(start(client, team, sites[0])["Location"])["state"]
    response = client.get(reverse("bento_stripe:oauth_callback"), {"state": state_value})
    assert response.status_code == 400
    assert "no authorization code" in response.content.decode()
    _nothing_connected(stripe_server)
