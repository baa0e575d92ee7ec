"""The backfill on the review page (progress JSON, chart), and in the admin."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from bento_stripe.backfill import summary
from bento_stripe.models import BackfillCursor, LedgerCharge, LedgerDispute, LedgerSubscription

from .factories import MembershipFactory, StripeAccountFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    account = StripeAccountFactory()
    now = timezone.now()
    for n, resource in enumerate(
        ["products", "prices", "customers", "charges", "disputes", "subscriptions", "invoices"]
    ):
        BackfillCursor.objects.create(
            account=account,
            resource=resource,
            state="done" if n < 2 else ("failed" if n == 2 else "pending"),
            objects_done=100 * (n + 1) if n < 3 else 0,
            started_at=now if n < 3 else None,
            finished_at=now if n < 2 else None,
            last_error="Stripe answered 500: Oops" if n == 2 else "",
        )
    key = {"stripe_account_id": account.stripe_user_id, "livemode": account.livemode}
    day = 86400 * 20000
    LedgerCharge.objects.create(
        **key,
        charge_id="ch_1",
        email="a@example.com",
        currency="usd",
        created=day,
        captured=10000,
        refunded=2500,
    )
    LedgerCharge.objects.create(
        **key,
        charge_id="ch_2",
        email="b@example.com",
        currency="usd",
        created=day + 86400,
        captured=5000,
    )
    LedgerCharge.objects.create(
        **key, charge_id="ch_3", email="c@example.com", currency="eur", created=day, captured=700
    )
    LedgerDispute.objects.create(
        **key,
        dispute_id="dp_1",
        charge_id="ch_2",
        amount=5000,
        currency="usd",
        lost=True,
        status="lost",
    )
    LedgerSubscription.objects.create(
        **key, subscription_id="sub_1", email="d@example.com", status="active", data={}
    )
    return account


def urls(account):
    args = [account.team_id, account.pk]
    return (
        reverse("bento_stripe:account_review", args=args),
        reverse("bento_stripe:account_backfill_state", args=args),
    )


def member(account, role="member"):
    user = UserFactory()
    MembershipFactory(team=account.team, user=user, role=role)
    return user


def test_progress_json_needs_login_and_membership(client, account, django_assert_max_num_queries):
    _review, state = urls(account)
    assert client.get(state).status_code == 302  # to the login page
    client.force_login(UserFactory())
    assert client.get(state).status_code == 404  # not a member of the team
    client.force_login(member(account))
    with django_assert_max_num_queries(7):
        data = client.get(state).json()
    assert data["state"] == "failed" and data["percent"] == 28 and data["objects_done"] == 600
    assert [r["resource"] for r in data["resources"]][:3] == ["products", "prices", "customers"]
    assert data["resources"][2]["last_error"] == "Stripe answered 500: Oops"
    assert client.post(state).status_code == 405


def test_review_page_shows_progress_chart_and_people(client, account):
    review, state = urls(account)
    client.force_login(member(account))
    page = client.get(review).content.decode()
    assert 'id="backfill-bar" style="width: 28%"' in page
    assert f'data-url="{state}"' in page
    assert "Stripe answered 500: Oops" in page
    assert 'id="money-chart"' in page and page.count('class="captured"') == 2
    assert "4 people have a value." in page
    # USD: captured 150.00, refunded 25.00 and lost 50.00, net 75.00; EUR is not converted.
    assert "In USD, per day:" in page
    assert '<strong id="money-captured">$150.00</strong>' in page
    assert '<strong id="money-refunded">$75.00</strong>' in page
    assert '<strong id="money-net">$75.00</strong>' in page
    assert "also in EUR" in page
    assert "bento_stripe/backfill.js" in page


def test_money_summary_is_exact_and_drawn_to_scale(account):
    found = summary.money(account)
    assert (found.currency, found.per) == ("USD", "day")
    assert [(b.captured, b.refunded, b.net) for b in found.bars] == [
        (10000, 2500, 7500),
        (5000, 5000, 0),
    ]
    assert (found.captured, found.refunded, found.net) == (15000, 7500, 7500)
    first = found.bars[0]
    assert first.captured_y == pytest.approx(summary.TOP)  # the tallest bar reaches the top
    assert first.captured_y + first.captured_h == pytest.approx(found.zero_y)


def test_review_page_without_a_backfill(client):
    account = StripeAccountFactory()
    review, _state = urls(account)
    client.force_login(member(account))
    page = client.get(review).content.decode()
    assert "No history import has run for this connection." in page
    assert "No money in the ledger yet." in page


def test_admin_shows_cursors_inline_and_in_their_list(admin_client, account):
    page = admin_client.get(
        reverse("admin:bento_stripe_stripeaccount_change", args=[account.pk])
    ).content.decode()
    assert "Backfill and reconciliation" in page and "Stripe answered 500: Oops" in page
    listing = admin_client.get(reverse("admin:bento_stripe_backfillcursor_changelist"))
    assert listing.status_code == 200
    assert listing.content.decode().count(str(account)) >= 5
