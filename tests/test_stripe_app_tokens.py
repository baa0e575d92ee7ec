"""Stripe App connections after the install: tokens, refresh, reconnect, uninstall, clients."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import stripe
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone

from bento_stripe import queue, services, signals, stripe_clients, stripe_keys
from bento_stripe.models import OutboxEvent, StripeAccount
from bento_stripe.processing import tasks
from bento_stripe.stripe_app import access_tokens
from tests.factories import StripeAccountFactory
from tests.oauth_helpers import callback_path, manager
from tests.stripe_app_helpers import (
    APP_ACCOUNT,
    basic_user,
    customer,
    decide,
    held_charge,
    install,
    make_due,
    record_and_process,
)
from tests.stripe_app_server import OWNER_KEYS, TEST_LINK_PATH
from tests.stripe_events import load

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client, app_settings_on):
    user, team, sites = manager("owner")
    client.force_login(user)
    return user, team, sites


# --- the token service ---------------------------------------------------------------------


@pytest.fixture
def installed(client, owner, app_server):
    _, team, sites = owner
    response, _ = install(client, team, sites[0], "test")
    assert response.status_code == 302
    return StripeAccount.objects.get()


def test_a_held_person_is_looked_up_with_the_token_after_it_expired(
    installed, app_server, settings
):
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "LOOKUP_EMAILS": False}
    record_and_process(held_charge())
    assert OutboxEvent.objects.get().status == OutboxEvent.Status.HELD
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "LOOKUP_EMAILS": True}
    app_server.state.add(APP_ACCOUNT, customer())
    old = installed.access_token
    app_server.state.advance(3700)  # the hour is over, at Stripe and here
    make_due(installed)
    assert tasks.lookup_held(budget=30) == 1
    row = OutboxEvent.objects.get()
    assert (row.status, row.email) == (OutboxEvent.Status.PENDING, "app0@example.com")
    assert app_server.state.refreshes == 1
    lookups = app_server.state.calls("/v1/customers/cus_app0")
    installed.refresh_from_db()
    assert [r["authorization"] for r in lookups] == [f"Bearer {installed.access_token}"]
    assert installed.access_token != old and not lookups[0]["account"]  # no Stripe-Account
    refresh_call = app_server.state.calls("/v1/oauth/token")[-1]
    assert refresh_call["params"]["grant_type"] == "refresh_token"
    assert basic_user(refresh_call) == OWNER_KEYS[False] + ":"


def test_a_401_refreshes_once_and_retries_the_call_once(installed, app_server):
    """Our clock says the token is good, Stripe's says it expired: one refresh, one retry."""
    app_server.state.add(APP_ACCOUNT, customer())
    app_server.state.advance(3700)
    StripeAccount.objects.filter(pk=installed.pk).update(
        access_token_expires_at=timezone.now() + timedelta(hours=1)
    )
    client = stripe_clients.for_account(installed)
    found = client.v1.customers.retrieve("cus_app0").to_dict()
    assert found["email"] == "app0@example.com"
    assert app_server.state.refreshes == 1
    assert len(app_server.state.calls("/v1/customers/cus_app0")) == 2


def test_a_refused_token_another_worker_replaced_is_not_refreshed_again(installed, app_server):
    first = stripe_clients.for_account(installed)
    # Another worker refreshes meanwhile (and Stripe kills the token `first` holds).
    access_tokens.refresh(installed, issued_before=timezone.now() + timedelta(seconds=1))
    assert app_server.state.refreshes == 1
    app_server.state.add(APP_ACCOUNT, customer())
    # `first` still holds the killed token and believes it good for the hour.
    assert not access_tokens.due_in_memory(installed)
    assert first.v1.customers.retrieve("cus_app0").to_dict()["id"] == "cus_app0"
    assert app_server.state.refreshes == 1  # the stored, newer token was used


def test_a_second_401_reaches_the_caller(installed, app_server):
    app_server.state.add(APP_ACCOUNT, customer())
    app_server.state._kill_account(APP_ACCOUNT, False)  # uninstalled at Stripe: all dead
    StripeAccount.objects.filter(pk=installed.pk).update(
        access_token_expires_at=timezone.now() + timedelta(hours=1)
    )
    with pytest.raises(stripe.AuthenticationError):
        stripe_clients.for_account(installed).v1.customers.retrieve("cus_app0")
    installed.refresh_from_db()
    assert installed.needs_reconnect  # the refresh answered invalid_grant


def test_invalid_grant_needs_reconnect_and_reconnect_restores(
    client, owner, installed, app_server, settings, django_capture_on_commit_callbacks
):
    _, team, sites = owner
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "LOOKUP_EMAILS": False}
    record_and_process(held_charge())
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "LOOKUP_EMAILS": True}
    # The refresh token dies at Stripe (say the pair was rolled by a lost process).
    app_server.state._kill_account(APP_ACCOUNT, False)
    app_server.state.advance(3700)
    told_hosts = []
    signals.account_needs_reconnect.connect(
        lambda **kw: told_hosts.append(kw["account"].pk), weak=False, dispatch_uid="t"
    )
    try:
        with (
            pytest.raises(access_tokens.ReconnectNeeded),
            django_capture_on_commit_callbacks(execute=True),
        ):
            access_tokens.access_token(installed)
    finally:
        signals.account_needs_reconnect.disconnect(dispatch_uid="t")
    assert told_hosts == [installed.pk]
    installed.refresh_from_db()
    assert installed.needs_reconnect and installed.is_active
    assert (installed.access_token, installed.refresh_token) == ("", "")
    # Held lookups wait (no call to Stripe), the rows stay due.
    make_due(installed)
    calls = len(app_server.state.requests)
    assert tasks.lookup_held(budget=30) == 0
    assert len(app_server.state.requests) == calls
    # Its events are still recorded and processed (they need no token).
    told = load("customer_created")
    told.update(id="evt_app_cus1", account=APP_ACCOUNT, livemode=False)
    told["data"]["object"].update(id="cus_app1", email="app1@example.com")
    record_and_process(told)
    assert OutboxEvent.objects.filter(email="app1@example.com").exists()
    # The review page, the API and the admin say so.
    review_url = reverse("bento_stripe:account_review", args=[team.pk, installed.pk])
    page = client.get(review_url).content.decode()
    assert 'id="needs-reconnect"' in page and "Needs to be connected again" in page
    assert 'id="reconnect-button"' in page
    (row,) = client.get("/api/stripe-accounts/").json()["results"]
    assert row["needs_reconnect"] is True
    # Reconnect: the install runs again in the same mode, for the same connection.
    response = client.post(reverse("bento_stripe:account_reconnect", args=[team.pk, installed.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(app_server.url + TEST_LINK_PATH)
    back = client.get(callback_path(decide(response["Location"])))
    assert back.status_code == 302 and back["Location"] == review_url
    (account,) = StripeAccount.objects.all()
    assert account.pk == installed.pk and not account.needs_reconnect and account.refresh_token
    assert 'id="needs-reconnect"' not in client.get(review_url).content.decode()
    # The held person is looked up now.
    app_server.state.add(APP_ACCOUNT, customer())
    assert tasks.lookup_held(budget=30) == 1


def test_reconnect_is_for_managers_and_app_connections(client, owner, installed):
    _, team, _ = owner
    connect = StripeAccountFactory(team=team, site=installed.site)
    url = reverse("bento_stripe:account_reconnect", args=[team.pk, connect.pk])
    assert client.post(url).status_code == 302
    assert client.get(url).status_code == 405
    member, _, _ = manager("member")
    from tests.factories import MembershipFactory

    MembershipFactory(team=team, user=member, role="member")
    client.force_login(member)
    url = reverse("bento_stripe:account_reconnect", args=[team.pk, installed.pk])
    assert client.post(url).status_code == 403
    outsider, _, _ = manager("owner")
    client.force_login(outsider)
    assert client.post(url).status_code == 404
    client.logout()
    assert "/login/" in client.post(url)["Location"]


def test_the_scheduled_roll_refreshes_old_pairs_once(installed, app_server):
    assert any(s.func == queue.ROLL_APP_TOKENS for s in queue.SCHEDULES)
    assert tasks_roll() == "rolled: 0, needs_reconnect: 0, failed: 0"
    StripeAccount.objects.filter(pk=installed.pk).update(
        tokens_issued_at=timezone.now() - timedelta(days=31)
    )
    old_refresh = installed.refresh_token
    assert tasks_roll() == "rolled: 1, needs_reconnect: 0, failed: 0"
    installed.refresh_from_db()
    assert installed.refresh_token != old_refresh and app_server.state.refreshes == 1
    assert tasks_roll().startswith("rolled: 0")


def tasks_roll() -> str:
    from bento_stripe.stripe_app.tasks import roll_tokens

    return roll_tokens()


def test_a_transient_refresh_failure_changes_nothing(installed, app_server, settings):
    from bento_stripe.exceptions import StripeCallError
    from example_project.stripe_standin import refused_url

    app_server.state.advance(3700)
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "STRIPE_API_BASE": refused_url()}
    with pytest.raises(StripeCallError) as caught:
        access_tokens.access_token(installed)
    assert caught.value.transient
    stored = StripeAccount.objects.get()
    assert stored.refresh_token == installed.refresh_token and not stored.needs_reconnect


# --- disconnect and uninstall --------------------------------------------------------------


def test_disconnect_uninstalls_the_app_and_wipes_the_tokens(
    installed, app_server, sync_q, django_capture_on_commit_callbacks
):
    token = installed.access_token
    with django_capture_on_commit_callbacks(execute=True):
        services.disconnect(installed)
    installed.refresh_from_db()
    assert installed.status == StripeAccount.Status.DISCONNECTED
    assert (installed.access_token, installed.refresh_token) == ("", "")
    assert installed.access_token_expires_at is None
    (listing,) = app_server.state.calls("/v1/apps/installs")
    assert listing["authorization"] == f"Bearer {OWNER_KEYS[False]}"
    assert listing["account"] == APP_ACCOUNT
    (install_row,) = app_server.state.installs.values()
    (uninstall,) = app_server.state.calls(f"/v1/apps/installs/{install_row['id']}/uninstall")
    assert uninstall["account"] == APP_ACCOUNT and install_row["status"] == "uninstalling"
    assert not app_server.state.calls("/oauth/deauthorize")
    answer = requests.get(
        f"{app_server.url}/v1/customers/cus_x",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 401


@pytest.mark.parametrize("event_type", ["account.application.deauthorized", "apps.install.deleted"])
def test_uninstall_events_deauthorize_and_wipe_tokens(installed, event_type, sync_q):
    event = load("account_application_deauthorized")
    event.update(id=f"evt_{event_type}", type=event_type, account=APP_ACCOUNT, livemode=False)
    record_and_process(event)
    installed.refresh_from_db()
    assert installed.status == StripeAccount.Status.DEAUTHORIZED
    assert (installed.access_token, installed.refresh_token) == ("", "")


# --- both kinds side by side -------------------------------------------------------------


def test_a_connect_and_an_app_connection_both_receive_and_deliver(installed, deliver, settings):
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "LOOKUP_EMAILS": False}
    connect = StripeAccountFactory(stripe_user_id="acct_1ConnectSideBySide", livemode=False)
    for account_id, email in (
        (APP_ACCOUNT, "a@app.example"),
        (connect.stripe_user_id, "c@connect.example"),
    ):
        event = load("customer_created")
        event.update(id=f"evt_{account_id}", account=account_id, livemode=False)
        event["data"]["object"].update(id=f"cus_{account_id}", email=email)
        charge = load("charge_succeeded")
        charge.update(id=f"evt_ch_{account_id}", account=account_id, livemode=False)
        charge["data"]["object"].update(id=f"ch_{account_id}", customer=f"cus_{account_id}")
        charge["data"]["object"]["billing_details"]["email"] = email
        assert [r.status_code for r in deliver(event, charge)] == [200, 200]
    delivered = {
        (row.site_id, row.email)
        for row in OutboxEvent.objects.filter(status=OutboxEvent.Status.DELIVERED)
    }
    assert (installed.site_id, "a@app.example") in delivered
    assert (connect.site_id, "c@connect.example") in delivered


# --- clients, keys, checks ------------------------------------------------------------------


def test_connect_clients_are_unchanged_and_take_the_test_key_in_test_mode(settings):
    account = StripeAccountFactory(livemode=False)
    client = stripe_clients.for_account(account)
    options = client._requestor._options
    assert options.api_key == "sk_test_platform_key_for_tests"
    assert options.stripe_account == account.stripe_user_id
    settings.BENTO_STRIPE = {
        **settings.BENTO_STRIPE,
        "STRIPE_SECRET_KEY": "sk_live_x",
        "STRIPE_TEST_SECRET_KEY": "sk_test_y",
    }
    assert stripe_clients.for_account(account)._requestor._options.api_key == "sk_test_y"
    account.livemode = True
    assert stripe_clients.for_account(account)._requestor._options.api_key == "sk_live_x"


def test_the_key_of_each_mode(settings):
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "STRIPE_SECRET_KEY": "sk_test_a"}
    assert stripe_keys.secret_key(False) == "sk_test_a"
    with pytest.raises(ImproperlyConfigured, match="live key"):
        stripe_keys.secret_key(True)
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "STRIPE_SECRET_KEY": "sk_live_b"}
    with pytest.raises(ImproperlyConfigured, match="STRIPE_TEST_SECRET_KEY"):
        stripe_keys.secret_key(False)
    assert stripe_keys.secret_key(True) == "sk_live_b"


def test_an_app_client_needs_a_token(installed):
    StripeAccount.objects.filter(pk=installed.pk).update(needs_reconnect=True)
    installed.refresh_from_db()
    with pytest.raises(access_tokens.ReconnectNeeded):
        stripe_clients.for_account(installed, timeout=5, retries=1)


def test_the_token_costs_one_query_and_a_refresh_a_few(
    installed, app_server, django_assert_max_num_queries
):
    with django_assert_max_num_queries(1):
        access_tokens.access_token(installed)
    app_server.state.advance(3700)
    # Read the row; in the lock: read it again, write the pair (plus the test's savepoint).
    with django_assert_max_num_queries(5) as captured:
        access_tokens.access_token(installed)
    assert app_server.state.refreshes == 1
    sql = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(sql) == 3 and sql[-1].startswith('UPDATE "bento_stripe_stripeaccount"')


def test_a_refresh_inside_a_transaction_is_refused(installed, app_server):
    from django.db import transaction

    app_server.state.advance(3700)
    with pytest.raises(access_tokens.RefreshInTransaction), transaction.atomic():
        access_tokens.access_token(installed)
    assert app_server.state.refreshes == 0  # Stripe was not asked: no grant is lost
    # A call inside a transaction that Stripe answers 401 reaches the caller as Stripe's 401.
    app_server.state.add(APP_ACCOUNT, customer())
    StripeAccount.objects.filter(pk=installed.pk).update(
        access_token_expires_at=timezone.now() + timedelta(hours=1)
    )
    installed.refresh_from_db()
    with pytest.raises(stripe.AuthenticationError), transaction.atomic():
        stripe_clients.for_account(installed).v1.customers.retrieve("cus_app0")
    assert app_server.state.refreshes == 0
