"""The whole install journey in Debian's Chromium: Apps → Install → Stripe → review → Settings → Disconnect."""

from __future__ import annotations

import os

import pytest
from django.db import connections
from django_q.conf import Conf

from bento_stripe.models import StripeAccount
from tests.conftest import CHROMIUM
from tests.oauth_helpers import manager

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

#: Flags for Debian's Chromium in a container (Playwright never downloads a browser here).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page(monkeypatch):
    """A Playwright page in Debian's Chromium; skipped with how-to-install when it is missing."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's Chromium is missing: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls here stay sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.set_default_timeout(15000)
            yield page
        finally:
            browser.close()
            # Connections opened while Playwright's loop ran would otherwise stay open and
            # keep PostgreSQL from dropping the test database at the end of the session.
            connections.close_all()


def test_install_journey_in_a_real_browser(
    live_server, stripe_settings, stripe_server, browser_page, output_dir, monkeypatch
):
    monkeypatch.setattr(Conf, "SYNC", True)  # run the background deauthorize in-process
    user, team, sites = manager("owner")
    user.is_staff = True  # the example project logs in through the admin's login page
    user.save()
    page = browser_page

    page.goto(f"{live_server.url}/account/apps/stripe/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_url("**/account/apps/stripe/")
    page.screenshot(path=os.path.join(output_dir, "1-stripe-app.png"), full_page=True)

    page.click("#install-stripe-app")
    page.wait_for_url(f"**/account/teams/{team.pk}/oauth/stripe_accounts/new")
    page.screenshot(path=os.path.join(output_dir, "2-confirm.png"), full_page=True)
    page.click("#continue-to-stripe")

    page.wait_for_url(f"{stripe_server.url}/oauth/authorize?**")
    assert "Backpack Coffee (stand-in)" in page.content()
    page.screenshot(path=os.path.join(output_dir, "3-stripe-authorize.png"), full_page=True)
    page.click("text=Authorize")

    page.wait_for_url("**/stripe_accounts/*/")
    account = StripeAccount.objects.get()
    assert page.url == f"{live_server.url}/account/teams/{team.pk}/stripe_accounts/{account.pk}/"
    assert "Stripe account connected." in page.content()
    assert page.inner_text("#account-site") == sites[0].name
    assert account.stripe_user_id in page.content()
    page.screenshot(path=os.path.join(output_dir, "review.png"), full_page=True)

    page.click("#settings-link")
    page.select_option("#id_site", str(sites[1].pk))
    page.screenshot(path=os.path.join(output_dir, "4-settings.png"), full_page=True)
    page.click("#save-settings")
    page.wait_for_url(f"**/stripe_accounts/{account.pk}/")
    assert page.inner_text("#account-site") == sites[1].name
    account.refresh_from_db()
    assert account.site == sites[1]

    page.click("#disconnect-link")
    page.screenshot(path=os.path.join(output_dir, "5-disconnect.png"), full_page=True)
    page.click("#confirm-disconnect")
    page.wait_for_url(f"**/stripe_accounts/{account.pk}/")
    assert page.text_content("#account-status") == "Disconnected"
    page.screenshot(path=os.path.join(output_dir, "6-disconnected.png"), full_page=True)
    account.refresh_from_db()
    assert account.status == StripeAccount.Status.DISCONNECTED
    assert stripe_server.state.deauthorized == [account.stripe_user_id]

    page.goto(f"{live_server.url}/account/teams/")
    page.screenshot(path=os.path.join(output_dir, "7-teams.png"), full_page=True)
    assert "Disconnected" in page.content()
    assert os.path.getsize(os.path.join(output_dir, "review.png")) > 10_000


def test_admin_settings_and_disconnect_in_a_real_browser(
    live_server, stripe_settings, stripe_server, browser_page, output_dir, monkeypatch
):
    from django.contrib.admin.models import LogEntry

    from tests.factories import SiteFactory, StripeAccountFactory, UserFactory

    monkeypatch.setattr(Conf, "SYNC", True)
    admin = UserFactory(is_staff=True, is_superuser=True)
    account = StripeAccountFactory(stripe_user_id=stripe_server.state.account.id)
    second = SiteFactory(team=account.team, name="Second site")
    page = browser_page

    page.goto(f"{live_server.url}/admin/bento_stripe/stripeaccount/{account.pk}/change/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_url(f"**/stripeaccount/{account.pk}/change/")
    page.select_option("#id_site", str(second.pk))
    page.click("input[name=_continue]")
    page.wait_for_url(f"**/stripeaccount/{account.pk}/change/")
    account.refresh_from_db()
    assert account.site == second

    page.click("text=Disconnect")
    page.wait_for_url(f"**/stripeaccount/{account.pk}/disconnect/")
    page.screenshot(path=os.path.join(output_dir, "admin-disconnect.png"), full_page=True)
    page.click("input[value='Yes, disconnect']")
    page.wait_for_url(f"**/stripeaccount/{account.pk}/change/")
    page.screenshot(path=os.path.join(output_dir, "admin-disconnected.png"), full_page=True)
    assert "is disconnected" in page.content()
    account.refresh_from_db()
    assert account.status == StripeAccount.Status.DISCONNECTED
    assert stripe_server.state.deauthorized == [account.stripe_user_id]
    messages = [e.get_change_message() for e in LogEntry.objects.filter(object_id=account.pk)]
    assert "Disconnected from Stripe." in messages and any("Site" in m for m in messages)
