"""The whole install journey in Debian's Chromium: Apps → Install → Stripe → review → Settings → Disconnect."""

from __future__ import annotations

import json
import os

import pytest
import requests
from django.db import connections
from django_q.conf import Conf

from bento_stripe.models import OutboxEvent, StripeAccount
from bento_stripe.webhooks.endpoints import endpoint_path, ensure_local
from tests.conftest import CHROMIUM
from tests.oauth_helpers import manager
from tests.stripe_events import SECRET, load, sign, with_changes

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


def post_signed_event(base_url: str, event: dict) -> int:
    """POST ``event`` to the site's local Connect webhook, signed the way Stripe signs."""
    endpoint = ensure_local(base_url, SECRET)
    body = json.dumps(event)
    answer = requests.post(
        base_url + endpoint_path(endpoint.djstripe_uuid),
        data=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": sign(body)},
        timeout=10,
    )
    return answer.status_code


def test_install_journey_in_a_real_browser(
    live_server, stripe_settings, stripe_server, browser_page, output_dir, monkeypatch
):
    # Queue tasks (event processing, delivery, the background deauthorize) run in-process.
    monkeypatch.setattr(Conf, "SYNC", True)
    stripe_settings.Q_CLUSTER = {**stripe_settings.Q_CLUSTER, "sync": True}
    stripe_settings.BENTO_STRIPE = {**stripe_settings.BENTO_STRIPE, "LOOKUP_EMAILS": False}
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
    assert "No events received yet." in page.content()

    # Stripe sends the new connection a charge: the review page shows it received and queued.
    event = with_changes(load("charge_succeeded"), account=account.stripe_user_id)
    assert post_signed_event(live_server.url, event) == 200
    page.reload()
    assert event["id"] in page.content() and "charge.succeeded" in page.content()
    assert "$ChargeSucceeded" in page.content() and "jane@example.com" in page.content()
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

    # From now on the account's events are recorded and not forwarded.
    later = with_changes(event, id="evt_1TAfterDisconnect1")
    assert post_signed_event(live_server.url, later) == 200
    page.reload()
    assert "evt_1TAfterDisconnect1" in page.content() and "Ignored" in page.content()
    assert OutboxEvent.objects.filter(stripe_event_id=event["id"]).exists()
    assert not OutboxEvent.objects.filter(stripe_event_id=later["id"]).exists()

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


def test_api_tokens_and_docs_in_a_real_browser(live_server, browser_page, output_dir):
    """Teams → API tokens: make one, see it once, use it, revoke it; the docs render offline."""
    user, team, _sites = manager("member")
    user.is_staff = True  # the example project logs in through the admin's login page
    user.save()
    page = browser_page

    page.goto(f"{live_server.url}/account/teams/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_url("**/account/teams/")
    page.click("text=API token")
    page.wait_for_url("**/account/api-tokens/")
    page.select_option("#id_lifetime", "30")
    page.click("text=Make token")
    token = page.inner_text("#new-token").strip()
    page.screenshot(path=os.path.join(output_dir, "1-token-made.png"), full_page=True)
    api = f"{live_server.url}/api/teams/"
    auth = {"Authorization": f"Token {token}"}
    answer = requests.get(api, headers=auth, timeout=10)
    assert answer.status_code == 200
    assert [t["id"] for t in answer.json()["results"]] == [team.pk]

    page.goto(f"{live_server.url}/account/api-tokens/")
    assert token not in page.content()  # shown once
    page.click("text=Revoke")
    page.wait_for_url("**/account/api-tokens/")
    assert "The token is revoked" in page.content()
    page.screenshot(path=os.path.join(output_dir, "2-token-revoked.png"), full_page=True)
    refused = requests.get(api, headers=auth, timeout=10)
    assert refused.status_code == 401 and refused.json()["code"] == "authentication_failed"

    # Swagger UI from local static files only (this machine has no route to a CDN).
    external = []
    page.on(
        "request",
        lambda r: external.append(r.url) if not r.url.startswith(live_server.url) else None,
    )
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock", timeout=20000)
    assert page.locator(".opblock").count() >= 14
    page.screenshot(path=os.path.join(output_dir, "3-api-docs.png"), full_page=True)
    assert external == []
