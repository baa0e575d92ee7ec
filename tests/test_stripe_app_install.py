"""Stripe App installs against the local app stand-in: links, modes, refusals, replays."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone

from bento_stripe import stripe_clients
from bento_stripe.models import StripeAccount
from bento_stripe.oauth import app_install as app_api
from tests.factories import StripeAccountFactory
from tests.oauth_helpers import callback_path, manager, query
from tests.stripe_app_helpers import (
    APP_ACCOUNT,
    CALLBACK,
    basic_user,
    customer,
    decide,
    install,
    raw_column,
    start,
    with_state,
)
from tests.stripe_app_server import CLIENT_ID, OWNER_KEYS, TEST_LINK_PATH

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client, app_settings_on):
    user, team, sites = manager("owner")
    client.force_login(user)
    return user, team, sites


# --- the confirmation page and the install link ------------------------------------------


def test_confirmation_offers_both_modes_and_goes_to_the_configured_link(client, owner, app_server):
    _, team, sites = owner
    page = client.get(reverse("bento_stripe:connect_new", args=[team.pk]))
    assert page.status_code == 200
    assert b'name="mode"' in page.content and b"Test mode" in page.content
    response = start(client, team, sites[1], "test")
    assert response.status_code == 302
    url = response["Location"]
    assert url.startswith(app_server.url + TEST_LINK_PATH + "?")  # the extra segment kept
    params = query(url)
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == CALLBACK
    assert len(params["state"]) > 40


def test_only_a_live_link_means_no_mode_choice(client, owner, settings, app_server):
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "STRIPE_APP_TEST_INSTALL_URL": ""}
    _, team, sites = owner
    page = client.get(reverse("bento_stripe:connect_new", args=[team.pk]))
    assert b'name="mode"' not in page.content
    response = start(client, team, sites[0], mode=None)
    assert response["Location"].startswith(app_server.link(True).split("?")[0] + "?")


def test_install_link_replaces_a_redirect_uri_and_state_it_carried():
    from django.test import override_settings

    link = "https://marketplace.stripe.com/oauth/v2/chnlink_X/authorize?client_id=ca_1&state=old"
    with override_settings(BENTO_STRIPE={"STRIPE_APP_TEST_INSTALL_URL": link}):
        url = app_api.install_url(livemode=False, redirect_uri="https://b.example/cb", state="s1")
    assert url.startswith("https://marketplace.stripe.com/oauth/v2/chnlink_X/authorize?")
    assert query(url) == {
        "client_id": "ca_1",
        "redirect_uri": "https://b.example/cb",
        "state": "s1",
    }
    with override_settings(BENTO_STRIPE={}), pytest.raises(ImproperlyConfigured):
        app_api.install_url(livemode=True, redirect_uri="x", state="y")


# --- installing ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["live", "test"])
def test_install_connects_the_account_with_encrypted_tokens(client, owner, app_server, mode):
    user, team, sites = owner
    response, _ = install(client, team, sites[1], mode)
    account = StripeAccount.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "bento_stripe:account_review", kwargs={"team_id": team.pk, "pk": account.pk}
    )
    live = mode == "live"
    assert (account.kind, account.livemode, account.stripe_user_id) == ("app", live, APP_ACCOUNT)
    assert account.site == sites[1] and account.connected_by == user
    assert account.scope == "stripe_apps" and not account.needs_reconnect
    assert account.display_name == "Blue Bottle (app stand-in)"  # asked with the new token
    # The pair is the stand-in's current one, stored encrypted, with its hour.
    (grant,) = app_server.state.live_tokens()
    assert (account.access_token, account.refresh_token) == (
        grant.access_token,
        grant.refresh_token,
    )
    for column in ("access_token", "refresh_token"):
        stored = raw_column(account, column)
        assert stored.startswith("fernet:") and grant.access_token not in stored
    expected = timezone.now() + timedelta(hours=1)
    assert abs((account.access_token_expires_at - expected).total_seconds()) < 60
    # The exchange used the owner's key of that mode, as HTTP Basic with an empty password.
    (exchange,) = app_server.state.calls("/v1/oauth/token")
    assert basic_user(exchange) == OWNER_KEYS[live] + ":"
    assert exchange["params"]["grant_type"] == "authorization_code"
    assert "client_id" not in exchange["params"]
    # Review page and API show the connection.
    review = client.get(response["Location"]).content.decode()
    assert "Stripe App" in review and APP_ACCOUNT in review and 'id="needs-reconnect"' not in review
    (row,) = client.get("/api/stripe-accounts/").json()["results"]
    assert (row["kind"], row["needs_reconnect"], row["livemode"]) == ("app", False, live)


def test_refusal_connects_nothing(client, owner):
    _, team, sites = owner
    response, url = install(client, team, sites[0], "live", decision="deny")
    assert query(url)["error"] == "access_denied"
    assert response.status_code == 200
    assert b"You cancelled" in response.content
    assert not StripeAccount.objects.exists()


def test_a_replayed_callback_is_refused(client, owner, app_server):
    _, team, sites = owner
    response, url = install(client, team, sites[0])
    assert response.status_code == 302
    again = client.get(callback_path(url))
    assert again.status_code == 400 and b"not valid any more" in again.content
    assert app_server.state.exchanges == 1


def test_a_state_of_another_user_is_refused(client, owner, app_server):
    _, team, sites = owner
    url = decide(start(client, team, sites[0])["Location"])
    intruder, _, _ = manager("owner")
    client.force_login(intruder)
    response = client.get(callback_path(url))
    assert response.status_code == 400
    assert not StripeAccount.objects.exists() and app_server.state.exchanges == 0


def test_a_code_used_twice_is_refused_by_stripe(client, owner, app_server):
    _, team, sites = owner
    first = decide(start(client, team, sites[0])["Location"])
    second_state = query(start(client, team, sites[0])["Location"])["state"]
    assert client.get(callback_path(first)).status_code == 302
    # The same code again, under a fresh valid state: Stripe answers invalid_grant.
    reused = with_state(first, second_state)
    response = client.get(callback_path(reused))
    assert response.status_code == 400 and b"did not accept the authorization" in response.content
    assert StripeAccount.objects.count() == 1


def test_a_code_of_the_other_mode_is_refused(client, owner, app_server):
    """A state says test mode but the code was made live: the test key cannot redeem it."""
    _, team, sites = owner
    live_url = decide(start(client, team, sites[0], "live")["Location"])
    test_state = query(start(client, team, sites[0], "test")["Location"])["state"]
    response = client.get(callback_path(with_state(live_url, test_state)))
    assert response.status_code == 400
    assert not StripeAccount.objects.exists()


def test_moving_a_connect_connection_to_the_app_keeps_it(client, owner, app_server):
    _, team, sites = owner
    old = StripeAccountFactory(team=team, site=sites[0], stripe_user_id=APP_ACCOUNT, livemode=False)
    assert old.kind == "connect"
    install(client, team, sites[0], "test")
    (account,) = StripeAccount.objects.all()
    assert account.pk == old.pk and account.kind == "app" and account.refresh_token


def test_no_token_or_code_reaches_the_logs(client, owner, app_server, caplog):
    caplog.set_level(logging.DEBUG)
    _, team, sites = owner
    install(client, team, sites[0], "test")
    account = StripeAccount.objects.get()
    app_server.state.add(APP_ACCOUNT, customer())
    app_server.state.advance(3700)
    stripe_clients.for_account(account).v1.customers.retrieve("cus_app0")
    assert app_server.state.refreshes == 1 and "Refreshed" in caplog.text
    leaks = [s for s in app_server.state.issued if s in caplog.text]
    assert not leaks
    assert OWNER_KEYS[False] not in caplog.text
