"""Attacks on the OAuth flow: none of them creates or changes a connection, none gets a 500."""

from __future__ import annotations

import re
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


# --- the access token stays out of DEBUG pages, reprs and memory --------------------------


def test_a_grant_never_shows_its_token():
    from bento_stripe.oauth.client import Grant

    grant = Grant("acct_1", False, "read_only", access_token="sk_test_secret_token_value")
    assert "sk_test_secret_token_value" not in repr(grant)
    assert "sk_test_secret_token_value" not in str(grant)


@pytest.mark.parametrize("store", [False, True])
def test_the_token_is_dropped_at_once_unless_stored(owner, stripe_server, settings, store):
    from bento_stripe.oauth import client as oauth_client

    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "STORE_ACCESS_TOKEN": store}
    grant = oauth_client.exchange_code(stripe_server.state.issue_code())
    assert grant.access_token.startswith("sk_test_standin_") is store
    if not store:
        assert grant.access_token == ""


#: An access token of the stand-in (a prefix alone would match this file's source lines,
#: which the report shows around the failing frame).
TOKEN = re.compile(r"sk_test_standin_[A-Za-z0-9_-]{20,}")


def _database_is_gone(self, *args, **kwargs):
    raise RuntimeError("database is gone")


@pytest.fixture
def error_reports(monkeypatch):
    """The HTML report Django's error mail (AdminEmailHandler) would send, per 500."""
    import sys

    from django.core.signals import got_request_exception
    from django.views.debug import ExceptionReporter

    reports: list[str] = []

    def report(sender, request, **kwargs):
        reports.append(ExceptionReporter(request, *sys.exc_info()).get_traceback_html())

    got_request_exception.connect(report)
    yield reports
    got_request_exception.disconnect(report)


@pytest.mark.parametrize("store", [False, True])
def test_a_debug_error_page_of_the_callback_shows_no_token(
    owner, stripe_server, settings, monkeypatch, store
):
    # DEBUG pages show every local variable (sensitive_variables is off in DEBUG): the
    # token must not be in one, dropped (STORE_ACCESS_TOKEN off) or passed on masked.
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "STORE_ACCESS_TOKEN": store}
    settings.DEBUG = True
    user, team, sites = owner
    browser = Client(raise_request_exception=False)
    browser.force_login(user)
    url = decide(start(browser, team, sites[0])["Location"])
    monkeypatch.setattr(StripeAccount, "save", _database_is_gone)
    page = browser.get(callback_path(url))
    assert page.status_code == 500
    html = page.content.decode()
    assert "database is gone" in html and "connect_account" in html  # the frames are there
    assert not TOKEN.search(html)


def test_an_error_report_of_the_callback_shows_no_stored_token(
    owner, stripe_server, settings, monkeypatch, error_reports
):
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "STORE_ACCESS_TOKEN": True}
    user, team, sites = owner
    browser = Client(raise_request_exception=False)
    browser.force_login(user)
    url = decide(start(browser, team, sites[0])["Location"])
    monkeypatch.setattr(StripeAccount, "save", _database_is_gone)
    assert browser.get(callback_path(url)).status_code == 500
    (html,) = error_reports
    assert "database is gone" in html and "connect_account" in html
    assert not TOKEN.search(html)


def test_an_error_report_of_the_site_admin_shows_no_bento_secret(
    admin_client, monkeypatch, error_reports
):
    from bento_stripe.models import Site
    from tests.factories import SiteFactory

    site = SiteFactory()
    monkeypatch.setattr(Site, "save", _database_is_gone)
    admin_client.raise_request_exception = False
    page = admin_client.post(
        reverse("admin:bento_stripe_site_change", args=[site.pk]),
        {
            "team": site.team_id,
            "name": site.name,
            "bento_site_uuid": site.bento_site_uuid,
            "bento_publishable_key": site.bento_publishable_key,
            "bento_secret_key": "sk_bento_typed_into_the_form_42",
        },
    )
    assert page.status_code == 500
    (html,) = error_reports
    assert "database is gone" in html
    assert "sk_bento_typed_into_the_form_42" not in html


def test_a_masked_secret_is_a_string_with_a_blind_repr():
    from pprint import pformat

    from bento_stripe import crypto
    from bento_stripe.redaction import Masked

    secret = Masked("sk_test_masked_value_0001")
    assert secret == "sk_test_masked_value_0001" and isinstance(secret, str)
    assert "masked_value" not in repr(secret) and "masked_value" not in pformat({"t": secret})
    assert crypto.decrypt(crypto.encrypt(secret)) == "sk_test_masked_value_0001"
