"""The review page's money, read in Debian's Chromium: amounts in their currency and the
reader's locale, a chart whose axes name the periods and the amounts, each bar's figures on
hover, and an unnamed account's id shown once. Screenshots under test-output/."""

from __future__ import annotations

import os

import pytest
from django.urls import reverse

from bento_stripe.models import LedgerCharge, LedgerDispute

from .factories import StripeAccountFactory
from .oauth_helpers import manager
from .test_browser import browser_page  # noqa: F401 - the Chromium fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DAY = 86400
JAN_2026 = 20454 * DAY


def _sign_in(page, live_server, user, url):
    page.goto(f"{live_server.url}/admin/login/?next={url}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_url(f"**{url}")


def _charges(account, currency, amounts, *, every_days):
    key = {"stripe_account_id": account.stripe_user_id, "livemode": account.livemode}
    for n, (captured, refunded) in enumerate(amounts):
        LedgerCharge.objects.create(
            **key,
            charge_id=f"ch_{currency}_{n}",
            email=f"p{n}@example.com",
            currency=currency,
            created=JAN_2026 + n * every_days * DAY,
            captured=captured,
            refunded=refunded,
        )
    return key


def test_money_reads_as_money_in_chromium(live_server, browser_page, output_dir, settings):  # noqa: F811
    user, team, sites = manager("owner")
    user.is_staff = True
    user.save()
    page = browser_page

    # 1. Months of dollars on an account Stripe gave no name: its id once, a chart with
    #    month names under it and dollar amounts beside it.
    dollars = StripeAccountFactory(team=team, site=sites[0], display_name="")
    key = _charges(
        dollars,
        "usd",
        [(1_250_000, 0), (2_500_000, 250_000), (3_750_000, 0), (5_000_000, 0), (6_268_657, 0)],
        every_days=31,
    )
    LedgerDispute.objects.create(
        **key,
        dispute_id="dp_1",
        charge_id="ch_usd_3",
        amount=400_000,
        currency="usd",
        lost=True,
        status="lost",
    )
    url = reverse("bento_stripe:account_review", args=[team.pk, dollars.pk])
    _sign_in(page, live_server, user, url)
    assert page.inner_text("#account-stripe") == dollars.stripe_user_id
    assert "—" not in page.inner_text("#account-stripe")
    assert page.inner_text("#money-captured") == "$187,686.57"
    assert page.inner_text("#money-net") == "$181,186.57"
    chart = page.locator("#money-chart")
    assert chart.locator(".x-axis text").all_text_contents() == [
        "Jan 2026",
        "Feb 2026",
        "Mar 2026",
        "Apr 2026",
        "May 2026",
    ]
    amounts = chart.locator(".y-axis text").all_text_contents()
    assert "$0" in amounts and any(a.startswith("$") and a != "$0" for a in amounts)
    # Hover: the bar's <title> is what the browser shows as its tooltip.
    bar = chart.locator("g.bar").nth(4)
    bar.locator("rect.captured").hover()
    assert bar.locator("title").text_content() == (
        "May 2026: captured $62,686.57, refunded or lost $0.00, net $62,686.57"
    )
    page.screenshot(path=os.path.join(output_dir, "1-usd-months-unnamed.png"), full_page=True)

    # 2. Yen over a few days, named account: no decimals, day names on the axis.
    yen = StripeAccountFactory(team=team, site=sites[1], display_name="Tokyo Shop")
    _charges(yen, "jpy", [(1200, 0), (5400, 1200), (800, 0)], every_days=1)
    page.goto(live_server.url + reverse("bento_stripe:account_review", args=[team.pk, yen.pk]))
    assert page.inner_text("#account-stripe") == f"Tokyo Shop · {yen.stripe_user_id}"
    assert page.inner_text("#money-captured") == "¥7,400"
    assert page.inner_text("#money-refunded") == "¥1,200"
    assert page.locator("#money-chart .x-axis text").all_text_contents() == [
        "Jan 1",
        "Jan 2",
        "Jan 3",
    ]
    page.screenshot(path=os.path.join(output_dir, "2-jpy-days.png"), full_page=True)

    # 3. The same dollars in a German project (LANGUAGE_CODE; with LocaleMiddleware each
    #    user's own language, as tests/test_money_format.py shows).
    settings.LANGUAGE_CODE = "de"
    page.goto(live_server.url + url)
    assert page.inner_text("#money-captured") == "187.686,57\xa0$"
    assert "Mai 2026" in page.locator("#money-chart .x-axis text").all_text_contents()
    page.screenshot(path=os.path.join(output_dir, "3-usd-german.png"), full_page=True)
