"""Account pages: the Stripe app, teams, review, Settings and Disconnect (with Stripe's deauthorize)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_q.models import Schedule

from bento_stripe import services
from bento_stripe.models import Membership, StripeAccount, StripeEventRecord
from bento_stripe.oauth import tasks
from tests.factories import (
    MembershipFactory,
    OutboxEventFactory,
    SiteFactory,
    StripeAccountFactory,
    TeamFactory,
)
from tests.oauth_helpers import manager
from tests.stripe_server import refused_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def q_sync(settings):
    """Run django-q2 tasks in-process, as the queue would (``Q_CLUSTER["sync"]``, read per call)."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}


@pytest.fixture
def connected(client):
    user, team, sites = manager("owner")
    account = StripeAccountFactory(team=team, site=sites[0], connected_by=user)
    client.force_login(user)
    return user, team, sites, account


def review_url(account):
    return reverse("bento_stripe:account_review", args=[account.team_id, account.pk])


def settings_url(account):
    return reverse("bento_stripe:account_settings", args=[account.team_id, account.pk])


def disconnect_url(account):
    return reverse("bento_stripe:account_disconnect", args=[account.team_id, account.pk])


# --- Apps page and Teams page ---


def test_apps_page_deep_links_for_a_user_with_one_team(client):
    user, team, _ = manager("owner")
    client.force_login(user)
    page = client.get(reverse("bento_stripe:stripe_app")).content.decode()
    assert "Install Stripe App" in page
    assert reverse("bento_stripe:connect_new", args=[team.pk]) in page


def test_apps_page_sends_a_user_with_several_teams_to_the_teams_page(client):
    user, team, _ = manager("owner")
    second = TeamFactory()
    MembershipFactory(team=second, user=user)
    client.force_login(user)
    page = client.get(reverse("bento_stripe:stripe_app")).content.decode()
    assert f'href="{reverse("bento_stripe:teams")}"' in page
    assert "/oauth/stripe_accounts/new" not in page
    chosen = client.get(reverse("bento_stripe:stripe_app"), {"team_id": second.pk})
    assert reverse("bento_stripe:connect_new", args=[second.pk]) in chosen.content.decode()


def test_apps_page_ignores_a_team_id_of_someone_else(client):
    user, _, _ = manager("owner")
    foreign = TeamFactory()
    MembershipFactory(team=TeamFactory(), user=user)
    client.force_login(user)
    page = client.get(reverse("bento_stripe:stripe_app"), {"team_id": foreign.pk})
    assert reverse("bento_stripe:connect_new", args=[foreign.pk]) not in page.content.decode()


def test_teams_page_lists_teams_sites_connections_and_install_buttons(client, connected):
    user, team, sites, account = connected
    member_team = TeamFactory(name="Where I am a member")
    MembershipFactory(team=member_team, user=user, role=Membership.Role.MEMBER)
    TeamFactory(name="Not my team")
    page = client.get(reverse("bento_stripe:teams")).content.decode()
    assert team.name in page and member_team.name in page and "Not my team" not in page
    assert sites[0].name in page and sites[1].name in page
    assert account.stripe_user_id in page and review_url(account) in page
    assert reverse("bento_stripe:connect_new", args=[team.pk]) in page
    assert reverse("bento_stripe:connect_new", args=[member_team.pk]) not in page
    assert "Only owners and admins can connect Stripe." in page


def test_pages_need_login(client):
    for name in ("stripe_app", "teams"):
        response = client.get(reverse(f"bento_stripe:{name}"))
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_confirmation_page_offers_the_team_sites_first_preselected(client):
    user, team, sites = manager("admin")
    SiteFactory(name="Someone else's site")
    client.force_login(user)
    page = client.get(reverse("bento_stripe:connect_new", args=[team.pk])).content.decode()
    first = min(sites, key=lambda s: (s.name, s.pk))
    assert f'<option value="{first.pk}" selected>' in page
    assert all(s.name in page for s in sites) and "Someone else's site" not in page
    assert 'name="csrfmiddlewaretoken"' in page and 'method="post"' in page


def test_confirmation_page_of_a_team_without_sites_says_so(client):
    user, team, _ = manager("owner", sites=0)
    client.force_login(user)
    page = client.get(reverse("bento_stripe:connect_new", args=[team.pk])).content.decode()
    assert "no Bento site yet" in page


# --- Review page ---


def test_review_page_shows_the_connection_and_recent_events(client, connected):
    user, team, sites, account = connected

    def record(event_id, acct, livemode=False, **extra):
        return StripeEventRecord.objects.create(
            stripe_event_id=event_id,
            event_type="charge.succeeded",
            stripe_account_id=acct,
            livemode=livemode,
            created=1764324000,
            payload={"id": event_id, "type": "charge.succeeded", "account": acct},
            **extra,
        )

    record("evt_review0001", account.stripe_user_id, status=StripeEventRecord.Status.PROCESSED)
    record("evt_other", "acct_else")
    record("evt_livemode", account.stripe_user_id, livemode=True)
    OutboxEventFactory(
        site=sites[0], stripe_account_id=account.stripe_user_id, email="jane@example.com"
    )
    OutboxEventFactory(site=sites[0], stripe_account_id="acct_else", email="other@example.com")
    OutboxEventFactory(stripe_account_id=account.stripe_user_id, email="other.team@example.com")
    page = client.get(review_url(account)).content.decode()
    for text in (
        sites[0].name,
        account.display_name,
        account.stripe_user_id,
        "Test",
        user.username,
        "evt_review0001",
        "charge.succeeded",
        "jane@example.com",
        settings_url(account),
        disconnect_url(account),
    ):
        assert text in page, text
    assert "Processed" in page
    assert "evt_other" not in page and "evt_livemode" not in page
    assert "other@example.com" not in page and "other.team@example.com" not in page


def test_review_page_without_events_renders_gracefully(client, connected):
    *_, account = connected
    page = client.get(review_url(account)).content.decode()
    assert "No events received yet." in page and "Nothing sent to Bento yet." in page


def test_plain_member_sees_the_review_page_without_actions(client):
    user, team, sites = manager("member")
    account = StripeAccountFactory(team=team, site=sites[0])
    client.force_login(user)
    page = client.get(review_url(account)).content.decode()
    assert account.stripe_user_id in page
    assert settings_url(account) not in page and disconnect_url(account) not in page


def test_review_of_another_team_or_its_account_is_404(client, connected):
    *_, account = connected
    foreign = StripeAccountFactory()
    assert client.get(review_url(foreign)).status_code == 404
    wrong_team = reverse("bento_stripe:account_review", args=[foreign.team_id, account.pk])
    assert client.get(wrong_team).status_code == 404


# --- Settings ---


def test_settings_routes_to_another_site_of_the_team(client, connected):
    _, _, sites, account = connected
    page = client.get(settings_url(account)).content.decode()
    assert f'<option value="{sites[0].pk}" selected>' in page
    response = client.post(settings_url(account), {"site": sites[1].pk})
    assert response.status_code == 302 and response["Location"] == review_url(account)
    account.refresh_from_db()
    assert account.site == sites[1]
    assert sites[1].name in client.get(review_url(account)).content.decode()


def test_settings_refuses_a_site_of_another_team(client, connected):
    _, _, sites, account = connected
    response = client.post(settings_url(account), {"site": SiteFactory().pk})
    assert response.status_code == 400
    account.refresh_from_db()
    assert account.site == sites[0]


@pytest.mark.parametrize("role", [None, "member"])
def test_settings_and_disconnect_need_a_manager(client, role):
    user, team, sites = manager(role or "owner")
    account = StripeAccountFactory(team=team, site=sites[0])
    if role is None:
        user, _, _ = manager("owner")  # an owner of another team
    client.force_login(user)
    expected = 403 if role else 404
    for url, data in (
        (settings_url(account), {"site": sites[1].pk}),
        (disconnect_url(account), {}),
    ):
        assert client.get(url).status_code == expected
        assert client.post(url, data).status_code == expected
    account.refresh_from_db()
    assert account.site == sites[0] and account.status == StripeAccount.Status.ACTIVE


def test_posts_without_csrf_token_change_nothing():
    user, team, sites = manager("owner")
    account = StripeAccountFactory(team=team, site=sites[0])
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(user)
    assert csrf_client.post(settings_url(account), {"site": sites[1].pk}).status_code == 403
    assert csrf_client.post(disconnect_url(account)).status_code == 403
    account.refresh_from_db()
    assert account.site == sites[0] and account.status == StripeAccount.Status.ACTIVE


# --- Disconnect and Stripe's deauthorize ---


def test_disconnect_asks_then_disconnects_and_deauthorizes_at_stripe(
    client, connected, stripe_settings, stripe_server, q_sync, django_capture_on_commit_callbacks
):
    *_, account = connected
    page = client.get(disconnect_url(account)).content.decode()
    assert "Yes, disconnect" in page
    account.refresh_from_db()
    assert account.is_active  # GET changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(disconnect_url(account))
    assert response.status_code == 302 and response["Location"] == review_url(account)
    account.refresh_from_db()
    assert account.status == StripeAccount.Status.DISCONNECTED and account.disconnected_at
    assert stripe_server.state.deauthorized == [account.stripe_user_id]
    call = stripe_server.state.calls("/oauth/deauthorize")[0]
    assert call.params["client_id"] == "ca_test_client_id"
    assert "Disconnected" in client.get(review_url(account)).content.decode()


def test_disconnect_does_not_wait_for_stripe(connected, django_capture_on_commit_callbacks):
    *_, account = connected
    with django_capture_on_commit_callbacks() as callbacks:
        services.disconnect(account)
    account.refresh_from_db()
    assert account.status == StripeAccount.Status.DISCONNECTED
    assert len(callbacks) == 2  # the signal, and queueing the deauthorize: both after commit


def test_disconnect_while_stripe_is_unreachable_retries_in_the_background(
    connected, settings, q_sync, django_capture_on_commit_callbacks
):
    *_, account = connected
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "STRIPE_CONNECT_BASE": refused_url()}
    with django_capture_on_commit_callbacks(execute=True):
        services.disconnect(account)
    account.refresh_from_db()
    assert account.status == StripeAccount.Status.DISCONNECTED
    retry = Schedule.objects.get(func="bento_stripe.oauth.tasks.deauthorize_account")
    assert retry.args == repr((account.pk, 2)) and retry.schedule_type == Schedule.ONCE


def test_deauthorize_retry_succeeds_once_stripe_is_back(connected, stripe_settings, stripe_server):
    *_, account = connected
    services.disconnect(account)
    stripe_server.state.fail_deauthorize = 503
    assert tasks.deauthorize_account(account.pk, 1).startswith("retry scheduled")
    stripe_server.state.fail_deauthorize = None
    assert tasks.deauthorize_account(account.pk, 2) == "deauthorized"
    assert stripe_server.state.deauthorized == [account.stripe_user_id]


def test_deauthorize_gives_up_after_max_attempts(connected, settings):
    *_, account = connected
    services.disconnect(account)
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "STRIPE_CONNECT_BASE": refused_url()}
    assert tasks.deauthorize_account(account.pk, tasks.MAX_ATTEMPTS).startswith("gave up")
    assert not Schedule.objects.filter(func="bento_stripe.oauth.tasks.deauthorize_account").exists()


def test_deauthorize_skips_an_account_connected_again(connected, stripe_settings, stripe_server):
    user, team, sites, account = connected
    services.disconnect(account)
    services.connect_account(
        team=team,
        site=sites[0],
        stripe_user_id=account.stripe_user_id,
        livemode=account.livemode,
        by=user,
    )
    assert tasks.deauthorize_account(account.pk).startswith("skipped")
    assert not stripe_server.state.calls("/oauth/deauthorize")


def test_retry_delays_grow_and_are_capped():
    class Highest:
        """The top of each jitter range: the ceiling the delays are drawn under."""

        def uniform(self, low, high):
            return high

    ceilings = [tasks.retry_delay(n, Highest()).total_seconds() for n in range(1, 10)]
    assert ceilings[:3] == [60, 120, 240]
    assert max(ceilings) == 3600 and ceilings == sorted(ceilings)
    drawn = [tasks.retry_delay(n).total_seconds() for n in range(1, 10)]
    assert all(0 <= d <= c for d, c in zip(drawn, ceilings, strict=True))


def test_disconnect_twice_is_harmless(client, connected, django_capture_on_commit_callbacks):
    *_, account = connected
    with django_capture_on_commit_callbacks() as first:
        services.disconnect(account)
    with django_capture_on_commit_callbacks() as second:
        services.disconnect(account)
        response = client.post(disconnect_url(account), follow=True)
    assert len(first) == 2 and not second
    assert "already disconnected" in response.content.decode()


def test_deauthorize_without_platform_credentials_logs_and_stops(connected, settings):
    *_, account = connected
    services.disconnect(account)
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "STRIPE_SECRET_KEY": ""}
    assert tasks.deauthorize_account(account.pk).startswith("not configured")
    assert not Schedule.objects.filter(func="bento_stripe.oauth.tasks.deauthorize_account").exists()


def test_a_broker_outage_does_not_fail_the_disconnect_page(
    client, connected, monkeypatch, django_capture_on_commit_callbacks
):
    import django_q.tasks

    def broken_broker(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(django_q.tasks, "async_task", broken_broker)
    *_, account = connected
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(disconnect_url(account))
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.status == StripeAccount.Status.DISCONNECTED


def test_a_team_sees_only_the_events_of_its_own_connections_lifetime(client):
    def record(event_id, account_id, note):
        return StripeEventRecord.objects.create(
            stripe_event_id=event_id,
            event_type="charge.succeeded",
            stripe_account_id=account_id,
            created=1764324000,
            payload={"id": event_id},
            note=note,
        )

    user_a, team_a, sites_a = manager("owner")
    user_b, team_b, sites_b = manager("owner")
    record("evt_before_a", "acct_1Shared", "note of an earlier holder")
    ours, _ = services.connect_account(
        team=team_a, site=sites_a[0], stripe_user_id="acct_1Shared", livemode=False
    )
    record("evt_of_a", "acct_1Shared", "note of team A")
    services.disconnect(ours, by=user_a)
    record("evt_while_nobody", "acct_1Shared", "ignored after the disconnect")
    theirs, _ = services.connect_account(
        team=team_b, site=sites_b[0], stripe_user_id="acct_1Shared", livemode=False
    )
    record("evt_of_b", "acct_1Shared", "note of team B")

    client.force_login(user_a)
    page_a = client.get(review_url(ours)).content.decode()
    assert "evt_of_a" in page_a and "evt_while_nobody" in page_a
    for foreign in ("evt_of_b", "note of team B", "evt_before_a", "earlier holder"):
        assert foreign not in page_a, foreign
    client.force_login(user_b)
    page_b = client.get(review_url(theirs)).content.decode()
    assert "evt_of_b" in page_b
    for foreign in ("evt_of_a", "note of team A", "evt_while_nobody", "evt_before_a"):
        assert foreign not in page_b, foreign
