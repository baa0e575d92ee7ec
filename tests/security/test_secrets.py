"""Secrets: after a full run at DEBUG (OAuth, endpoint creation at Stripe, webhooks, delivery
to Bento), no Bento secret key, Stripe secret key, webhook secret, OAuth code or token is
in the captured logs, the pages, the admin, the API or the database in plain text."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
import requests
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_q.conf import Conf
from djstripe.models import WebhookEndpoint

from bento_stripe import simulation
from bento_stripe.models import OutboxEvent, StripeAccount
from bento_stripe.redaction import RedactingFilter
from tests.factories import UserFactory
from tests.oauth_helpers import journey, manager, query

pytestmark = pytest.mark.django_db

BENTO_SECRET = "sk_bento_scan_secret_value_0001"
PLATFORM_KEY = "sk_test_platform_key_for_tests"
WEBHOOK_SECRET = "whsec_from_stripe_standin_0123456789"  # what the Stripe stand-in answers
#: Tokens the Stripe stand-in makes up (random): matched by shape, from a token's start
#: (a Fernet ciphertext is url-safe base64 too and may hold "rt_" followed by 20 of its
#: characters, which is no refresh token).
TOKENS = re.compile(
    r"(?<![A-Za-z0-9_-])(?:(?:sk|pk)_test_standin_[A-Za-z0-9_-]{10,}|rt_[A-Za-z0-9_-]{20,})"
)


def database_text() -> str:
    """Every row of every table, as stored."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_no_secret_is_anywhere_in_plain_text(
    client,
    stripe_settings,
    stripe_server,
    stripe_api,
    server,
    settings,
    caplog,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(Conf, "SYNC", True)
    settings.Q_CLUSTER = {**django_settings.Q_CLUSTER, "sync": True}
    settings.BENTO_STRIPE = {
        **settings.BENTO_STRIPE,
        "STRIPE_API_BASE": stripe_server.url,
        "STRIPE_CONNECT_BASE": stripe_server.url,
        "STORE_ACCESS_TOKEN": True,  # the token is kept (encrypted): it must still not show
        "BACKEND": "http",
        "API_URL": server.url,
        "LOOKUP_EMAILS": False,
    }

    # 1. OAuth: a team's owner connects its Stripe account.
    owner, team, sites = manager("owner")
    site = sites[0]
    site.bento_secret_key = BENTO_SECRET
    site.save()
    server.add_site(site)
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response, callback_url = journey(client, team, site)
    assert response.status_code == 302, response.content
    code = query(callback_url)["code"]
    account = StripeAccount.objects.get(team=team)
    token = account.access_token
    assert TOKENS.fullmatch(token)  # really kept: the scan below looks for something real

    # 2. The Connect endpoint is created at Stripe (its answer carries the signing secret).
    # As in a fresh process (a deploy step) where no OAuth call put the log filter on.
    stripe_logger = logging.getLogger("stripe")
    for log_filter in [f for f in stripe_logger.filters if isinstance(f, RedactingFilter)]:
        stripe_logger.removeFilter(log_filter)
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "STRIPE_API_BASE": stripe_api.url}
    out = io.StringIO()
    call_command("bento_stripe_endpoint", "--url", "http://testserver", "--json", stdout=out)
    assert WebhookEndpoint.objects.get().id == "we_1StandIn0001"
    path = json.loads(out.getvalue())["path"]

    # 3. Webhooks, processing and delivery to Bento over HTTP (Basic auth with the key).
    for event in simulation.stream(account.stripe_user_id, "jane@example.com"):
        body = simulation.encode(event)
        with django_capture_on_commit_callbacks(execute=True):
            answer = client.post(
                path,
                data=body,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=simulation.signature(body, WEBHOOK_SECRET),
            )
        assert answer.status_code == 200, answer.content
    server.wait_idle()
    assert OutboxEvent.objects.filter(status=OutboxEvent.Status.DELIVERED).exists()
    assert server.requests  # Bento really was called with the secret key

    # 4. What people and tools see.
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    outputs = {"logs": caplog.text}
    for url in [
        reverse("bento_stripe:teams"),
        reverse("bento_stripe:account_review", args=[team.pk, account.pk]),
        reverse("bento_stripe:account_settings", args=[team.pk, account.pk]),
        "/api/sites/",
        "/api/stripe-accounts/",
        "/api/subscribers/",
    ]:
        outputs[url] = client.get(url).content.decode()
    for url in [
        reverse("admin:bento_stripe_site_changelist"),
        reverse("admin:bento_stripe_site_change", args=[site.pk]),
        reverse("admin:bento_stripe_team_change", args=[team.pk]),
        reverse("admin:bento_stripe_stripeaccount_change", args=[account.pk]),
        reverse("admin:bento_stripe_outboxevent_changelist"),
        reverse("admin:bento_stripe_stripeeventrecord_changelist"),
        # (dj-stripe's endpoint change form needs dj-stripe's own URLs, which the app does
        # not include; its changelist shows the endpoints.)
        reverse("admin:djstripe_webhookendpoint_changelist"),
        reverse("admin:djstripe_webhookeventtrigger_changelist"),
    ]:
        page = admin.get(url)
        assert page.status_code == 200, url
        outputs[url] = page.content.decode()
    outputs["database"] = database_text()
    assert "stripe" in caplog.text.lower() and len(outputs["database"]) > 1000

    secrets = {
        "Bento secret key": BENTO_SECRET,
        "Stripe platform key": PLATFORM_KEY,
        "webhook signing secret": WEBHOOK_SECRET,
        "OAuth code": code,
        "access token": token,
    }
    leaks = [
        f"{label} in {where}"
        for where, text in outputs.items()
        for label, secret in secrets.items()
        if secret in text
    ]
    leaks += [
        f"a Stripe token in {where}" for where, text in outputs.items() if TOKENS.search(text)
    ]
    assert not leaks, leaks


#: Tokens and codes the Stripe App stand-in makes up (random): matched by shape.
APP_TOKENS = re.compile(
    r"(?<![A-Za-z0-9_-])(?:(rk|rt)_(test|live)_[A-Za-z0-9_-]{20,}|ac_[A-Za-z0-9_-]{20,})"
)


def test_no_stripe_app_token_is_anywhere_in_plain_text(
    client, app_settings_on, app_server, caplog, settings
):
    """A Stripe App install, a refresh after the hour, a 401 retry and a refused refresh token
    (needs reconnect), then a Reconnect: no code, access or refresh token, nor an owner key, in
    the logs, the pages, the admin, the API or the database."""
    from datetime import timedelta

    from django.utils import timezone

    from bento_stripe import stripe_clients
    from bento_stripe.stripe_app import access_tokens
    from tests.stripe_app_server import OWNER_KEYS

    caplog.set_level(logging.DEBUG)
    settings.DEBUG = True
    owner, team, sites = manager("owner")
    client.force_login(owner)

    def install() -> StripeAccount:
        response = client.post(
            reverse("bento_stripe:connect_new", args=[team.pk]),
            {"site": sites[0].pk, "mode": "test"},
        )
        page = requests.get(response["Location"], timeout=10)
        assert page.status_code == 200
        params = query(response["Location"])
        answer = requests.post(
            response["Location"].split("?")[0] + "/decision",
            data={
                "decision": "allow",
                "redirect_uri": params["redirect_uri"],
                "state": params["state"],
            },
            allow_redirects=False,
            timeout=10,
        )
        back = answer.headers["Location"]
        done = client.get(back[back.index("/account/") :])
        assert done.status_code == 302, done.content
        return StripeAccount.objects.get(team=team)

    account = install()
    app_server.state.add(account.stripe_user_id, {"id": "cus_scan", "object": "customer"})
    app_server.state.advance(3700)  # the hour is over: a refresh
    stripe_clients.for_account(account).v1.customers.retrieve("cus_scan")
    # Our clock believes the token good, Stripe's does not: a 401, a refresh, a retry.
    app_server.state.advance(3700)
    StripeAccount.objects.filter(pk=account.pk).update(
        access_token_expires_at=timezone.now() + timedelta(hours=1)
    )
    account.refresh_from_db()
    stripe_clients.for_account(account).v1.customers.retrieve("cus_scan")
    assert app_server.state.refreshes == 2
    # The refresh token dies at Stripe: needs reconnect; then Reconnect installs again.
    app_server.state._kill_account(account.stripe_user_id, False)
    app_server.state.advance(3700)
    with pytest.raises(access_tokens.ReconnectNeeded):
        access_tokens.access_token(account)
    account = install()
    assert account.refresh_token and not account.needs_reconnect

    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    outputs = {"logs": caplog.text}
    for url in [
        reverse("bento_stripe:teams"),
        reverse("bento_stripe:account_review", args=[team.pk, account.pk]),
        reverse("bento_stripe:account_settings", args=[team.pk, account.pk]),
        "/api/stripe-accounts/",
    ]:
        outputs[url] = client.get(url).content.decode()
    for url in [
        reverse("admin:bento_stripe_stripeaccount_changelist"),
        reverse("admin:bento_stripe_stripeaccount_change", args=[account.pk]),
    ]:
        page = admin.get(url)
        assert page.status_code == 200, url
        outputs[url] = page.content.decode()
    outputs["database"] = database_text()
    issued = app_server.state.issued
    assert len(issued) >= 8 and account.access_token in issued  # the scan looks for real ones
    leaks = [
        f"an issued token or code in {where}"
        for where, text in outputs.items()
        if any(secret in text for secret in issued)
    ]
    leaks += [
        f"an owner key in {where}"
        for where, text in outputs.items()
        if any(key in text for key in OWNER_KEYS.values())
    ]
    leaks += [
        f"a token-shaped value in {where}"
        for where, text in outputs.items()
        if APP_TOKENS.search(text)
    ]
    assert not leaks, leaks
