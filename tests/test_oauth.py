"""The Connect OAuth flow against the local Stripe stand-in: every step, error and attack."""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from django.urls import reverse

from bento_stripe.models import StripeAccount
from tests.factories import StripeAccountFactory, TeamFactory
from tests.oauth_helpers import callback_path, decide, journey, manager, query, start
from tests.stripe_server import StandInAccount, refused_url

pytestmark = pytest.mark.django_db

CALLBACK = "http://testserver/account/oauth/stripe_accounts/callback"


@pytest.fixture
def owner(client, stripe_settings):
    user, team, sites = manager("owner")
    client.force_login(user)
    return user, team, sites


def test_confirmation_post_redirects_to_stripe_authorize(client, owner, stripe_server):
    user, team, sites = owner
    response = start(client, team, sites[1])
    assert response.status_code == 302
    url = response["Location"]
    assert url.startswith(stripe_server.url + "/oauth/authorize?")
    params = query(url)
    assert params["response_type"] == "code"
    assert params["client_id"] == "ca_test_client_id"
    assert params["scope"] == "read_only"
    assert params["redirect_uri"] == CALLBACK
    assert params["stripe_user[email]"] == user.email
    assert len(params["state"]) > 40


def test_scope_and_redirect_uri_come_from_settings(client, owner, settings):
    settings.BENTO_STRIPE = {
        **settings.BENTO_STRIPE,
        "OAUTH_SCOPE": "read_write",
        "OAUTH_REDIRECT_URI": "https://bento.example/account/oauth/stripe_accounts/callback",
    }
    _, team, sites = owner
    params = query(start(client, team, sites[0])["Location"])
    assert params["scope"] == "read_write"
    assert params["redirect_uri"] == "https://bento.example/account/oauth/stripe_accounts/callback"


def test_full_flow_connects_the_account_to_the_chosen_site(client, owner, stripe_server):
    user, team, sites = owner
    response, _ = journey(client, team, sites[1])
    account = StripeAccount.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "bento_stripe:account_review", kwargs={"team_id": team.pk, "pk": account.pk}
    )
    assert account.team == team and account.site == sites[1]
    assert account.stripe_user_id == "acct_1StandInDemo0001"
    assert account.display_name == "Backpack Coffee (stand-in)"
    assert account.livemode is False and account.scope == "read_only"
    assert account.status == StripeAccount.Status.ACTIVE
    assert account.connected_by == user and account.connected_at is not None
    assert account.access_token == ""  # not stored unless STORE_ACCESS_TOKEN
    token_call = stripe_server.state.calls("/oauth/token")[0]
    assert token_call.headers["Authorization"] == "Bearer sk_test_platform_key_for_tests"
    assert token_call.params["grant_type"] == "authorization_code"
    account_call = stripe_server.state.calls("/v1/accounts/acct_1StandInDemo0001")[0]
    assert account_call.method == "GET"


def test_livemode_comes_from_the_token_response_not_the_key(client, owner, stripe_server):
    _, team, sites = owner
    stripe_server.state.account = StandInAccount(id="acct_live0000000001", livemode=True)
    journey(client, team, sites[0])
    account = StripeAccount.objects.get()
    assert account.livemode is True  # the platform key is sk_test_..., the token said live


def test_access_token_is_stored_encrypted_only_when_asked(client, owner, settings):
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "STORE_ACCESS_TOKEN": True}
    _, team, sites = owner
    journey(client, team, sites[0])
    account = StripeAccount.objects.get()
    assert account.access_token.startswith("sk_test_standin_")
    with connection.cursor() as cursor:
        cursor.execute("select access_token from bento_stripe_stripeaccount")
        raw = cursor.fetchone()[0]
    assert raw.startswith("fernet:") and account.access_token not in raw


def test_cancel_at_stripe_shows_a_friendly_message_and_creates_nothing(client, owner):
    _, team, sites = owner
    response, _ = journey(client, team, sites[0], decision="deny")
    assert response.status_code == 200
    assert "You cancelled the connection at Stripe" in response.content.decode()
    assert not StripeAccount.objects.exists()


@pytest.mark.parametrize(
    ("failure", "status", "text"),
    [
        ("invalid_grant", 400, "Stripe did not accept the authorization"),
        (500, 502, "Stripe could not be reached or had an error"),
        (503, 502, "Stripe could not be reached or had an error"),
    ],
)
def test_token_errors_show_a_message_and_create_nothing(
    client, owner, stripe_server, failure, status, text
):
    _, team, sites = owner
    stripe_server.state.fail_token = failure
    response, _ = journey(client, team, sites[0])
    assert response.status_code == status
    assert text in response.content.decode()
    assert not StripeAccount.objects.exists()


def test_stripe_unreachable_shows_a_message_and_creates_nothing(client, owner, settings):
    _, team, sites = owner
    authorize = start(client, team, sites[0])["Location"]
    callback = decide(authorize)
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "STRIPE_CONNECT_BASE": refused_url()}
    response = client.get(callback_path(callback))
    assert response.status_code == 502
    assert "could not be reached" in response.content.decode()
    assert not StripeAccount.objects.exists()


def test_an_error_other_than_cancel_is_told_apart(client, owner):
    _, team, sites = owner
    params = query(start(client, team, sites[0])["Location"])
    response = client.get(
        reverse("bento_stripe:oauth_callback"),
        {"error": "invalid_scope", "error_description": "bad", "state": params["state"]},
    )
    assert response.status_code == 400
    assert "did not authorize the connection (invalid_scope)" in response.content.decode()
    assert not StripeAccount.objects.exists()


def test_account_lookup_failure_still_connects_without_a_name(client, owner, stripe_server):
    # The code is spent and the account authorized at Stripe: keep the connection.
    _, team, sites = owner
    stripe_server.state.fail_account = 500
    response, _ = journey(client, team, sites[0])
    assert response.status_code == 302
    assert StripeAccount.objects.get().display_name == ""


def test_account_connected_by_another_team_is_refused(client, owner):
    _, team, sites = owner
    other = StripeAccountFactory(stripe_user_id="acct_1StandInDemo0001")
    response, _ = journey(client, team, sites[0])
    assert response.status_code == 409
    assert "already connected to another team" in response.content.decode()
    assert list(StripeAccount.objects.all()) == [other]
    other.refresh_from_db()
    assert other.status == StripeAccount.Status.ACTIVE


def test_reconnecting_own_disconnected_account_reactivates_it(client, owner):
    user, team, sites = owner
    old = StripeAccountFactory(
        team=team,
        site=sites[0],
        stripe_user_id="acct_1StandInDemo0001",
        status=StripeAccount.Status.DISCONNECTED,
    )
    response, _ = journey(client, team, sites[1])
    assert response.status_code == 302
    old.refresh_from_db()
    assert StripeAccount.objects.count() == 1
    assert old.status == StripeAccount.Status.ACTIVE and old.disconnected_at is None
    assert old.site == sites[1] and old.connected_by == user


def test_a_disconnected_connection_of_another_team_does_not_block(client, owner):
    _, team, sites = owner
    StripeAccountFactory(
        stripe_user_id="acct_1StandInDemo0001", status=StripeAccount.Status.DEAUTHORIZED
    )
    response, _ = journey(client, team, sites[0])
    assert response.status_code == 302
    assert StripeAccount.objects.active().get().team == team


def test_missing_platform_credentials_show_a_message_not_a_500(client, owner, settings):
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "STRIPE_CONNECT_CLIENT_ID": ""}
    _, team, sites = owner
    response = start(client, team, sites[0])
    assert response.status_code == 400
    assert "not configured" in response.content.decode()


def test_no_code_or_token_in_logs(client, owner, stripe_server, settings, caplog):
    caplog.set_level(logging.DEBUG)
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "STORE_ACCESS_TOKEN": True}
    _, team, sites = owner
    _, url = journey(client, team, sites[0])
    code = query(url)["code"]
    token = StripeAccount.objects.get().access_token
    stripe_server.state.fail_token = "invalid_grant"
    StripeAccount.objects.all().delete()
    _, url2 = journey(client, team, sites[0])
    code2 = query(url2)["code"]
    assert caplog.records, "the flow logs something at DEBUG (stripe-python's request logs)"
    assert "Stripe refused the authorization code" in caplog.text
    for secret in (code, code2, token, "rt_", "sk_test_platform_key_for_tests"):
        assert secret not in caplog.text


# --- the service the callback uses ---


def test_connect_account_refuses_a_site_of_another_team():
    from bento_stripe import services
    from bento_stripe.exceptions import WrongTeamError
    from tests.factories import SiteFactory

    team = TeamFactory()
    with pytest.raises(WrongTeamError):
        services.connect_account(
            team=team, site=SiteFactory(), stripe_user_id="acct_x", livemode=False
        )
    assert not StripeAccount.objects.exists()


def test_connect_account_refuses_an_account_another_team_has_live(settings):
    from bento_stripe import services
    from bento_stripe.exceptions import AlreadyConnectedError

    taken = StripeAccountFactory(livemode=True)
    _, team, sites = manager("owner")
    with pytest.raises(AlreadyConnectedError, match="another team"):
        services.connect_account(
            team=team, site=sites[0], stripe_user_id=taken.stripe_user_id, livemode=False
        )
    assert StripeAccount.objects.count() == 1


def test_connect_account_drops_the_token_unless_asked():
    from bento_stripe import services

    _, team, sites = manager("owner")
    account, created = services.connect_account(
        team=team,
        site=sites[0],
        stripe_user_id="acct_tok",
        livemode=False,
        access_token="sk_test_should_not_be_kept",
    )
    assert created and StripeAccount.objects.get(pk=account.pk).access_token == ""


# --- make demo: the journey works against the stand-in the demo starts ---


@pytest.mark.slow
def test_demo_lets_a_user_connect_stripe_without_credentials(demo_database):
    import re

    import requests

    from tests.test_demo import running_demo

    with running_demo(demo_database) as (base, output):
        browser = requests.Session()
        login = browser.get(f"{base}/admin/login/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)[1]
        browser.post(
            f"{base}/admin/login/?next=/account/apps/stripe/",
            data={"csrfmiddlewaretoken": token, "username": "admin", "password": "admin"},
            headers={"Referer": f"{base}/admin/login/"},
            timeout=10,
        )
        app = browser.get(f"{base}/account/apps/stripe/", timeout=10)
        new_url = re.search(r'id="install-stripe-app" href="([^"]+)"', app.text)[1]
        confirm = browser.get(base + new_url, timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', confirm.text)[1]
        site = re.search(r'<option value="(\d+)" selected>', confirm.text)[1]
        to_stripe = browser.post(
            base + new_url,
            data={"csrfmiddlewaretoken": token, "site": site},
            headers={"Referer": base + new_url},
            allow_redirects=False,
            timeout=10,
        )
        assert to_stripe.status_code == 302
        authorize = to_stripe.headers["Location"]
        assert authorize.startswith("http://127.0.0.1:") and "/oauth/authorize?" in authorize
        callback = decide(authorize)
        review = browser.get(callback, timeout=10)
        assert review.status_code == 200 and "/stripe_accounts/" in review.url
        assert "Stripe account connected." in review.text
        assert "Backpack Coffee (stand-in)" in review.text
    assert "a local stand-in at http://127.0.0.1:" in output[0]


def test_callback_without_platform_credentials_is_not_a_500(client, owner, settings):
    _, team, sites = owner
    url = decide(start(client, team, sites[0])["Location"])
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "STRIPE_SECRET_KEY": ""}
    response = client.get(callback_path(url))
    assert response.status_code == 503
    assert "not configured" in response.content.decode()
    assert not StripeAccount.objects.exists()


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (
            "message='Post details' post_data=grant_type=authorization_code&code=ac_Secret123",
            "ac_Secret123",
        ),
        ('body=\'{"access_token": "sk_test_abcdefgh", "livemode": false}\'', "sk_test_abcdefgh"),
        ('{"refresh_token":"rt_ZZZZZZZZZZ"}', "rt_ZZZZZZZZZZ"),
        ("Authorization code does not exist: ac_Q1w2e3r4t5", "ac_Q1w2e3r4t5"),
        (
            'body=\'{\\n  "id": "we_1",\\n  "secret": "whsec_Abc123xyz"\\n}\'',
            "whsec_Abc123xyz",
        ),
        ('{"secret": "an_unprefixed_value"}', "an_unprefixed_value"),
    ],
)
def test_redact_removes_codes_and_tokens(text, secret):
    from bento_stripe.oauth.client import redact

    cleaned = redact(text)
    assert secret not in cleaned and "[redacted]" in cleaned
    assert redact("acct_1StandInDemo0001 livemode=false") == "acct_1StandInDemo0001 livemode=false"
