"""In Debian's Chromium: connect an account, watch its history import reach done on the
review page without a reload, then see the money chart."""

from __future__ import annotations

import os

import pytest

from bento_stripe.backfill import services as backfill
from bento_stripe.backfill.resources import ORDER
from bento_stripe.models import BackfillCursor, StripeAccount
from tests.backfill_helpers import step_to
from tests.oauth_helpers import manager
from tests.stripe_history import History
from tests.stripe_list_server import LISTS
from tests.test_browser import browser_page  # noqa: F401 - the Chromium fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_connect_and_watch_the_backfill_reach_done(
    live_server,
    stripe_settings,
    stripe_server,
    stripe_lists,
    browser_page,  # noqa: F811 - imported fixture
    output_dir,
):
    # The Connect OAuth stand-in makes the connection; the list stand-in is its history.
    lists = stripe_lists(History("acct_browser", customers=40, charges=300))
    stripe_settings.BENTO_STRIPE = {
        **stripe_settings.BENTO_STRIPE,
        "STRIPE_CONNECT_BASE": stripe_server.url,
        "LOOKUP_EMAILS": False,
    }
    user, team, _sites = manager("owner")
    user.is_staff = True
    user.save()
    page = browser_page
    page.goto(f"{live_server.url}/account/apps/stripe/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_url("**/account/apps/stripe/")
    page.click("#install-stripe-app")
    page.click("#continue-to-stripe")
    page.wait_for_url(f"{stripe_server.url}/oauth/authorize?**")
    page.click("text=Authorize")
    page.wait_for_url("**/stripe_accounts/*/")

    # The connection queued its backfill (no worker runs here): the page shows it waiting.
    account = StripeAccount.objects.get()
    assert BackfillCursor.objects.filter(account=account).count() == len(ORDER)
    assert page.get_attribute("#backfill", "data-state") == "pending"
    assert page.get_attribute("#backfill-bar", "style") == "width: 0%"
    assert "No money in the ledger yet." in page.content()

    # A worker reads the catalogue (products and prices come first) and the customers' page:
    # the page follows without a reload.
    step_to(account, "charges")
    cursors = BackfillCursor.objects.filter(account=account)
    objects = sum(c.objects_done for c in cursors)
    assert objects >= 40  # the 40 customers and the catalogue
    percent = backfill.state(account).percent
    assert 0 < percent < 100
    page.wait_for_function(
        f"document.getElementById('backfill-objects').textContent === '{objects}'"
    )
    page.wait_for_function(f"document.getElementById('backfill-bar').style.width === '{percent}%'")
    page.screenshot(path=os.path.join(output_dir, "1-backfill-running.png"), full_page=True)

    assert backfill.run(account) == "done"
    page.wait_for_function("document.getElementById('backfill').dataset.state === 'done'")
    assert page.get_attribute("#backfill-bar", "style") == "width: 100%;"
    assert page.inner_text('tr[data-resource="charges"] .r-objects') == "300"
    page.screenshot(path=os.path.join(output_dir, "2-backfill-done.png"), full_page=True)

    page.reload()
    chart = page.locator("#money-chart")
    assert chart.is_visible()
    assert chart.locator("rect.captured").count() > 1
    assert "people have a value." in page.content()
    page.screenshot(path=os.path.join(output_dir, "3-chart.png"), full_page=True)
    pages = [r for r in lists.requests if r["resource"] in LISTS]
    assert pages and {r["account"] for r in pages} == {account.stripe_user_id}
