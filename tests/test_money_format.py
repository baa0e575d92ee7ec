"""Money as the review page shows it: exact, in its currency, in the reader's locale; the
chart's axes and hover figures; an unnamed Stripe account's id shown once."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from bento_stripe.backfill import summary
from bento_stripe.models import LedgerCharge, LedgerDispute
from bento_stripe.money_format import format_money, format_period, format_whole

from .factories import MembershipFactory, StripeAccountFactory, UserFactory

DAY = 86400


@pytest.mark.parametrize(
    ("language", "minor", "currency", "expected"),
    [
        ("en-us", 6268657, "usd", "$62,686.57"),
        ("en-us", 6268600, "USD", "$62,686.00"),
        ("en-us", 1200, "jpy", "¥1,200"),  # zero-decimal: 1,200 yen, not 12.00
        ("en-us", -2500, "usd", "-$25.00"),
        ("en-us", 1234567, "kwd", "KWD1,234.567"),  # three decimals, none lost
        ("de", 6268657, "eur", "62.686,57\xa0€"),
        ("de", 6268657, "usd", "62.686,57\xa0$"),
        ("fr", 6268657, "eur", "62\u202f686,57\xa0€"),
        ("ja", 1200, "jpy", "￥1,200"),
    ],
)
def test_amounts_read_in_their_currency_and_locale(language, minor, currency, expected):
    with translation.override(language):
        assert format_money(minor, currency) == expected


def test_no_digit_is_ever_rounded_away():
    # ISK: Stripe counts it in hundredths, the locale data in whole krónur.
    with translation.override("en-us"):
        assert format_money(123456, "isk") == "ISK1,234.56"


def test_template_filter_and_axis_labels():
    rendered = Template('{% load bento_stripe_money %}{{ v|money:"usd" }}|{{ n|money:"usd" }}')
    with translation.override("en-us"):
        assert rendered.render(Context({"v": 150000, "n": None})) == "$1,500.00|"
        from decimal import Decimal

        assert format_whole(Decimal(60000), "usd") == "$60,000"
        assert format_period(date(2026, 3, 12), "day") == "Mar 12"
        assert format_period(date(2026, 3, 1), "month") == "Mar 2026"
    with translation.override("de"):
        assert format_period(date(2026, 3, 1), "month") == "März 2026"


@pytest.fixture
def months_of_money(db):
    """A connection with 150 days of USD charges (drawn per month), a refund and a lost dispute."""
    account = StripeAccountFactory(display_name="")
    key = {"stripe_account_id": account.stripe_user_id, "livemode": account.livemode}
    start = 20454 * DAY  # 2026-01-01
    for n in range(5):
        LedgerCharge.objects.create(
            **key,
            charge_id=f"ch_{n}",
            email=f"p{n}@example.com",
            currency="usd",
            created=start + n * 31 * DAY,
            captured=1_250_000 * (n + 1),
            refunded=250_000 if n == 1 else 0,
        )
    LedgerDispute.objects.create(
        **key,
        dispute_id="dp_1",
        charge_id="ch_3",
        amount=400_000,
        currency="usd",
        lost=True,
        status="lost",
    )
    return account


def test_chart_names_its_periods_and_amounts(months_of_money):
    with translation.override("en-us"):
        money = summary.money(months_of_money)
    assert money.per == "month"
    assert [t.text for t in money.x_labels] == [
        "Jan 2026",
        "Feb 2026",
        "Mar 2026",
        "Apr 2026",
        "May 2026",
    ]
    ticks = [t.text for t in money.y_ticks]
    assert "$0" in ticks and ticks == sorted(ticks, key=lambda t: float(re.sub(r"[^\d.-]", "", t)))
    assert all(re.fullmatch(r"-?\$[\d,]+", t) for t in ticks), ticks
    # The zero tick sits on the axis; every tick inside the plot.
    zero = next(t for t in money.y_ticks if t.text == "$0")
    assert zero.at == pytest.approx(money.zero_y)
    assert all(
        summary.TOP - 0.01 <= t.at <= summary.HEIGHT - summary.BOTTOM + 0.01 for t in money.y_ticks
    )
    # Each bar's hover text: its month and its three amounts, exact.
    assert money.bars[1].title == (
        "Feb 2026: captured $25,000.00, refunded or lost $2,500.00, net $22,500.00"
    )
    assert money.bars[3].title.endswith("refunded or lost $4,000.00, net $46,000.00")
    assert money.totals == {
        "captured": "$187,500.00",
        "refunded": "$6,500.00",
        "net": "$181,000.00",
    }


@pytest.fixture
def with_locale_middleware(settings):
    """A host that follows each user's language (Django's LocaleMiddleware); the language the
    middleware activates for this thread is dropped afterwards, so later tests read English."""
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(
        middleware.index("django.contrib.sessions.middleware.SessionMiddleware") + 1,
        "django.middleware.locale.LocaleMiddleware",
    )
    settings.MIDDLEWARE = middleware
    yield
    translation.deactivate()


@pytest.mark.usefixtures("with_locale_middleware")
def test_review_page_in_german_keeps_svg_numbers_machine_readable(client, months_of_money):
    account = months_of_money
    user = UserFactory()
    MembershipFactory(team=account.team, user=user, role="member")
    client.force_login(user)
    url = reverse("bento_stripe:account_review", args=[account.team_id, account.pk])
    page = client.get(url, headers={"accept-language": "de"}).content.decode()
    svg = page[page.index('<svg id="money-chart"') : page.index("</svg>")]
    svg = svg[svg.index(">") + 1 :]  # the drawing inside (the element's own width is 100%)
    # Coordinates never take the locale's decimal comma.
    for value in re.findall(r' (?:x|y|x1|x2|y1|y2|width|height)="([^"]*)"', svg):
        assert re.fullmatch(r"-?\d+(\.\d+)?", value), value
    assert '<strong id="money-net">181.000,00\xa0$</strong>' in page
    assert "<title>Feb. 2026: " in svg and "22.500,00\xa0$" in svg
    assert ">Feb. 2026</text>" in svg
    # An unnamed account: its id once, no "— ·" placeholder.
    facts = re.search(r'<dd id="account-stripe">(.*?)</dd>', page).group(1)
    assert facts == f"<code>{account.stripe_user_id}</code>"
