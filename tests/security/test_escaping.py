"""Escaping: Stripe's strings (names, descriptions, metadata, emails with ``<script>`` and
quotes) are escaped on every page and admin view that shows them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bento_stripe.models import (
    LedgerCharge,
    LedgerCustomer,
    LedgerSubscription,
    OutboxEvent,
    StripeAccount,
    StripeEventRecord,
    Subscriber,
)

from .conftest import World

pytestmark = pytest.mark.django_db

#: What a Stripe customer can type into a name, a description or metadata.
HOSTILE = """<script>alert("x")</script><img src=x onerror='alert(1)'>"""
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
#: An email Stripe accepts (quotes and angle brackets are legal in a quoted local part).
HOSTILE_EMAIL = '"<script>alert(1)</script>"@example.com'


@pytest.fixture
def hostile(world: World) -> World:
    account = world.account
    StripeAccount.objects.filter(pk=account.pk).update(display_name=HOSTILE)
    StripeEventRecord.objects.filter(pk=world.event.pk).update(event_type=HOSTILE, note=HOSTILE)
    OutboxEvent.objects.filter(pk=world.outbox.pk).update(
        email=HOSTILE_EMAIL, event_type=HOSTILE, last_error=HOSTILE
    )
    Subscriber.objects.filter(pk=world.subscriber.pk).update(
        email=HOSTILE_EMAIL, fields={"plan": HOSTILE}
    )
    LedgerCustomer.objects.update(name=HOSTILE, email=HOSTILE_EMAIL)
    LedgerCharge.objects.update(email=HOSTILE_EMAIL)
    LedgerSubscription.objects.update(status="<b>'x\"</b>", data={"description": HOSTILE})
    return world


def _pages(world: World) -> list[tuple[str, str]]:
    account = world.account
    review = reverse("bento_stripe:account_review", args=[account.team_id, account.pk])
    pages = [
        ("owner", reverse("bento_stripe:teams")),
        ("owner", reverse("bento_stripe:stripe_app")),
        ("owner", review),
        ("owner", reverse("bento_stripe:account_settings", args=[account.team_id, account.pk])),
        ("owner", reverse("bento_stripe:account_disconnect", args=[account.team_id, account.pk])),
    ]
    for model in (
        "stripeaccount",
        "stripeeventrecord",
        "outboxevent",
        "subscriber",
        "ledgercustomer",
        "ledgercharge",
        "ledgersubscription",
    ):
        pages.append(("superuser", reverse(f"admin:bento_stripe_{model}_changelist")))
    objects = {
        "stripeaccount": account.pk,
        "stripeeventrecord": world.event.pk,
        "outboxevent": world.outbox.pk,
        "subscriber": world.subscriber.pk,
        "ledgercustomer": LedgerCustomer.objects.get().pk,
        "ledgersubscription": LedgerSubscription.objects.get().pk,
    }
    for model, pk in objects.items():
        pages.append(("superuser", reverse(f"admin:bento_stripe_{model}_change", args=[pk])))
    return pages


def test_stripe_strings_are_escaped_on_every_page_that_shows_them(hostile):
    shown_somewhere = 0
    for actor, url in _pages(hostile):
        response = hostile.client(actor).get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "<script>alert" not in html, url
        assert "onerror='alert" not in html and "<img src=x" not in html, url
        assert "<b>'x" not in html, url
        shown_somewhere += ESCAPED in html or "&lt;script&gt;alert(1)" in html
    # The strings were really on the pages (escaped), so the check above means something.
    assert shown_somewhere >= 10


def test_the_review_page_shows_the_hostile_name_and_note_escaped(hostile):
    account = hostile.account
    url = reverse("bento_stripe:account_review", args=[account.team_id, account.pk])
    html = hostile.client("owner").get(url).content.decode()
    assert html.count(ESCAPED) >= 2  # the account's name and the event's note or type
