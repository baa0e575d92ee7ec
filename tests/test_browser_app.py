"""The Stripe App install journey in Debian's Chromium: Install → test mode → the marketplace
page → review → needs to be connected again → Reconnect → Disconnect (uninstall)."""

from __future__ import annotations

import os

import pytest
from django_q.conf import Conf

from bento_stripe.models import OutboxEvent, StripeAccount
from bento_stripe.stripe_app import access_tokens
from tests.oauth_helpers import manager
from tests.stripe_app_server import TEST_LINK_PATH
from tests.stripe_events import load, with_changes
from tests.test_browser import browser_page, post_signed_event  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_app_install_journey_in_a_real_browser(
    live_server,
    app_settings_on,
    app_server,
    browser_page,  # noqa: F811 - the fixture imported above
    output_dir,
    monkeypatch,
):
    monkeypatch.setattr(Conf, "SYNC", True)
    app_settings_on.Q_CLUSTER = {**app_settings_on.Q_CLUSTER, "sync": True}
    app_settings_on.BENTO_STRIPE = {**app_settings_on.BENTO_STRIPE, "LOOKUP_EMAILS": False}
    user, team, sites = manager("owner")
    user.is_staff = True
    user.save()
    page = browser_page
    shot = lambda name: page.screenshot(  # noqa: E731
        path=os.path.join(output_dir, f"{name}.png"), full_page=True
    )

    page.goto(f"{live_server.url}/account/apps/stripe/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_url("**/account/apps/stripe/")
    page.click("#install-stripe-app")
    page.wait_for_url(f"**/account/teams/{team.pk}/oauth/stripe_accounts/new")
    assert "install the app" in page.content()
    page.check("#install-mode input[value=test]")
    shot("1-confirm-test-mode")
    page.click("#continue-to-stripe")

    page.wait_for_url(f"{app_server.url}{TEST_LINK_PATH}?**")
    assert "Install this app on Blue Bottle (app stand-in)" in page.content()
    shot("2-marketplace")
    page.click("#install")

    page.wait_for_url("**/stripe_accounts/*/")
    account = StripeAccount.objects.get()
    assert page.url == f"{live_server.url}/account/teams/{team.pk}/stripe_accounts/{account.pk}/"
    assert "Stripe account connected." in page.content()
    assert page.inner_text("#account-kind") == "Stripe App"
    assert (account.kind, account.livemode) == ("app", False)
    assert page.locator("#needs-reconnect").count() == 0

    event = with_changes(load("charge_succeeded"), account=account.stripe_user_id, livemode=False)
    assert post_signed_event(live_server.url, event) == 200
    page.reload()
    assert event["id"] in page.content() and "$ChargeSucceeded" in page.content()
    shot("3-review")

    # Stripe refuses the refresh token (invalid_grant): "needs to be connected again".
    app_server.state._kill_account(account.stripe_user_id, False)
    app_server.state.advance(3700)
    with pytest.raises(access_tokens.ReconnectNeeded):
        access_tokens.access_token(account)
    page.reload()
    assert page.text_content("#needs-reconnect") == "Needs to be connected again"
    shot("4-needs-reconnect")
    page.click("#reconnect-button")
    page.wait_for_url(f"{app_server.url}{TEST_LINK_PATH}?**")
    page.click("#install")
    page.wait_for_url(f"**/stripe_accounts/{account.pk}/")
    assert page.locator("#needs-reconnect").count() == 0
    account.refresh_from_db()
    assert not account.needs_reconnect and account.refresh_token
    shot("5-reconnected")

    page.click("#disconnect-link")
    page.click("#confirm-disconnect")
    page.wait_for_url(f"**/stripe_accounts/{account.pk}/")
    assert page.text_content("#account-status") == "Disconnected"
    shot("6-disconnected")
    account.refresh_from_db()
    assert (account.access_token, account.refresh_token) == ("", "")
    (install,) = app_server.state.installs.values()
    assert install["status"] == "uninstalling"
    assert OutboxEvent.objects.filter(stripe_event_id=event["id"]).exists()
