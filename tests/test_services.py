"""The service functions that every front door (pages, admin, API, commands) shares."""

import pytest

from bento_stripe import services, signals
from bento_stripe.exceptions import WrongTeamError
from bento_stripe.models import StripeAccount
from bento_stripe.processing import disconnect
from tests.factories import SiteFactory, StripeAccountFactory

pytestmark = pytest.mark.django_db


def test_change_site_routes_to_another_site_of_the_team(django_capture_on_commit_callbacks):
    account = StripeAccountFactory()
    old_site = account.site
    new_site = SiteFactory(team=account.team)
    received = []

    def receiver(**kwargs):
        received.append(kwargs)

    signals.account_site_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.change_site(account, new_site)
    finally:
        signals.account_site_changed.disconnect(receiver)
    assert StripeAccount.objects.get(pk=account.pk).site == new_site
    assert received[0]["old_site"] == old_site and received[0]["new_site"] == new_site


def test_change_site_refuses_a_site_of_another_team():
    account = StripeAccountFactory()
    with pytest.raises(WrongTeamError, match="another team"):
        services.change_site(account, SiteFactory())
    assert StripeAccount.objects.get(pk=account.pk).site == account.site


def test_deauthorize_is_idempotent():
    account = StripeAccountFactory(access_token="sk_acct_token_value")
    first = disconnect.deauthorize(account)
    second = disconnect.deauthorize(account)
    assert first.status == second.status == StripeAccount.Status.DEAUTHORIZED
    assert first.disconnected_at == second.disconnected_at
    assert StripeAccount.objects.get(pk=account.pk).access_token == ""


@pytest.mark.parametrize(
    ("signal", "act"),
    [
        (signals.account_site_changed, lambda a: services.change_site(a, SiteFactory(team=a.team))),
        (signals.account_disconnected, lambda a: services.disconnect(a)),
        (signals.account_disconnected, lambda a: disconnect.deauthorize(a)),
    ],
)
def test_a_receiver_that_raises_breaks_nothing_and_is_logged(
    signal, act, django_capture_on_commit_callbacks, caplog
):
    account = StripeAccountFactory()

    def receiver(**kwargs):
        raise RuntimeError("the host's receiver failed")

    signal.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            act(account)
    finally:
        signal.disconnect(receiver)
    assert callbacks, "the signal is sent after commit"
    assert "the host's receiver failed" in caplog.text
    assert any(r.name == "bento_stripe.signals" and r.exc_info for r in caplog.records)
