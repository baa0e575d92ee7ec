"""PostgreSQL: workers needing an app connection's expired token at the same moment make one
refresh (under the row lock) and all succeed; none loses the rolled grant."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from bento_stripe import services, stripe_clients
from bento_stripe.models import StripeAccount
from tests.factories import SiteFactory
from tests.stripe_app_server import ACCESS_LIFETIME

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ACCOUNT = "acct_1AppRaceStandIn0"


def installed(app_server) -> StripeAccount:
    """An app connection holding the stand-in's current pair (as an install leaves it)."""
    from datetime import timedelta

    from django.utils import timezone

    with app_server.state.lock:
        grant = app_server.state._pair(ACCOUNT, False)
    site = SiteFactory()
    account, _ = services.connect_account(
        team=site.team,
        site=site,
        stripe_user_id=ACCOUNT,
        livemode=False,
        kind=StripeAccount.Kind.APP,
        access_token=grant.access_token,
        refresh_token=grant.refresh_token,
        access_token_expires_at=timezone.now() + timedelta(seconds=ACCESS_LIFETIME),
    )
    return account


@pytest.mark.parametrize("workers", [2, 4])
def test_workers_racing_for_an_expired_token_make_one_refresh(app_settings_on, app_server, workers):
    account = installed(app_server)
    app_server.state.add(ACCOUNT, {"id": "cus_race", "object": "customer", "email": "r@x.example"})
    app_server.state.advance(ACCESS_LIFETIME + 60)  # expired, here and at Stripe
    app_server.state.refresh_delay = 0.3  # the first refresh is still on its way when the rest ask
    barrier = threading.Barrier(workers)
    found: list[str] = []
    errors: list[BaseException] = []

    def work():
        try:
            mine = StripeAccount.objects.get(pk=account.pk)  # each worker reads its own row
            barrier.wait()
            client = stripe_clients.for_account(mine, timeout=10)
            found.append(client.v1.customers.retrieve("cus_race").to_dict()["email"])
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert found == ["r@x.example"] * workers
    assert app_server.state.refreshes == 1
    stored = StripeAccount.objects.get(pk=account.pk)
    (live,) = app_server.state.live_tokens()  # the one pair Stripe still honours is ours
    assert (stored.access_token, stored.refresh_token) == (live.access_token, live.refresh_token)
    assert not stored.needs_reconnect
