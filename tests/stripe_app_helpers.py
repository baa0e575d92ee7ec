"""Walking a Stripe App install through Django's test client and the app stand-in."""

from __future__ import annotations

import base64
from datetime import timedelta

import requests
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from bento_stripe.models import OutboxEvent, StripeAccount
from bento_stripe.processing import tasks
from tests.oauth_helpers import callback_path, query
from tests.stripe_events import load

CALLBACK = "http://testserver/account/oauth/stripe_accounts/callback"
APP_ACCOUNT = "acct_1AppInstallStandIn"


def start(client, team, site, mode: str | None = "live"):
    data = {"site": site.pk}
    if mode:
        data["mode"] = mode
    return client.post(reverse("bento_stripe:connect_new", args=[team.pk]), data)


def decide(install_url: str, decision: str = "allow") -> str:
    """Press Install (or Cancel) on the stand-in's marketplace page; the callback URL."""
    page = requests.get(install_url, timeout=10)
    assert page.status_code == 200 and "Install" in page.text, page.text
    params = query(install_url)
    path = install_url.split("?")[0]
    answer = requests.post(
        path + "/decision",
        data={
            "decision": decision,
            "redirect_uri": params["redirect_uri"],
            "state": params["state"],
        },
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302
    return answer.headers["Location"]


def install(client, team, site, mode: str = "live", decision: str = "allow"):
    response = start(client, team, site, mode)
    assert response.status_code == 302, response.content
    url = decide(response["Location"], decision)
    return client.get(callback_path(url)), url


def with_state(callback_url: str, state: str) -> str:
    """The callback URL with another ``state`` (the code kept)."""
    from urllib.parse import urlencode

    params = {**query(callback_url), "state": state}
    return callback_url.split("?")[0] + "?" + urlencode(params)


def basic_user(request: dict) -> str:
    return base64.b64decode(request["authorization"][6:]).decode()


def raw_column(account: StripeAccount, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM bento_stripe_stripeaccount WHERE id = %s",  # noqa: S608
            [account.pk],
        )
        return cursor.fetchone()[0]


def held_charge(i: int = 0) -> dict:
    event = load("charge_succeeded")
    event.update(id=f"evt_app_ch{i}", account=APP_ACCOUNT, livemode=False)
    obj = event["data"]["object"]
    obj.update(id=f"ch_app{i}", customer=f"cus_app{i}", receipt_email=None, livemode=False)
    obj["billing_details"]["email"] = None
    return event


def customer(i: int = 0) -> dict:
    obj = load("customer_created")["data"]["object"]
    obj.update(id=f"cus_app{i}", email=f"app{i}@example.com", livemode=False)
    return obj


def record_and_process(*events) -> None:
    from bento_stripe.webhooks.views import record_once

    for event in events:
        assert record_once(event)
    tasks.process_waiting(linger=0)


def make_due(account) -> None:
    OutboxEvent.objects.filter(connection=account).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5)
    )
