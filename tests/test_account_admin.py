"""The StripeAccount admin: Settings through the service, Disconnect behind its permission, logged."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from bento_stripe import signals
from bento_stripe.models import StripeAccount
from tests.factories import MembershipFactory, SiteFactory, StripeAccountFactory, UserFactory

pytestmark = pytest.mark.django_db


def change_url(account):
    return reverse("admin:bento_stripe_stripeaccount_change", args=[account.pk])


def disconnect_url(account):
    return reverse("admin:bento_stripe_stripeaccount_disconnect", args=[account.pk])


def staff(*codenames, team=None):
    """A staff user with the given bento_stripe permissions only; an owner of ``team`` (the
    admin shows staff only the teams they manage)."""
    user = UserFactory(is_staff=True)
    if team is not None:
        MembershipFactory(team=team, user=user, role="owner")
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="bento_stripe", codename__in=codenames)
    )
    return user


@pytest.fixture
def account():
    account = StripeAccountFactory()
    SiteFactory(team=account.team, name="Second site")
    return account


def form_data(account, site, **extra):
    return {"site": site.pk, "display_name": account.display_name, **extra}


def test_site_change_goes_through_the_service_and_is_logged(
    admin_client, admin_user, account, django_capture_on_commit_callbacks
):
    second = account.team.sites.get(name="Second site")
    received = []

    def receiver(**kwargs):
        received.append(kwargs)

    signals.account_site_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(change_url(account), form_data(account, second))
    finally:
        signals.account_site_changed.disconnect(receiver)
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.site == second
    assert received and received[0]["by"] == admin_user and received[0]["new_site"] == second
    entry = LogEntry.objects.get(object_id=str(account.pk), action_flag=CHANGE)
    assert "Site" in entry.get_change_message() and entry.user == admin_user


def test_site_of_another_team_is_refused(admin_client, account):
    old_site = account.site
    response = admin_client.post(change_url(account), form_data(account, SiteFactory()))
    assert response.status_code == 200  # the form again, with an error
    account.refresh_from_db()
    assert account.site == old_site
    assert not LogEntry.objects.exists()


def test_identity_fields_are_read_only(admin_client, account):
    response = admin_client.post(
        change_url(account),
        form_data(account, account.site, stripe_user_id="acct_hijack", livemode="on"),
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.stripe_user_id != "acct_hijack" and account.livemode is False


def test_disconnect_button_only_with_the_permission(client, account):
    with_perm = staff(
        "view_stripeaccount", "change_stripeaccount", "disconnect_stripeaccount", team=account.team
    )
    without = staff("view_stripeaccount", "change_stripeaccount", team=account.team)
    client.force_login(with_perm)
    assert disconnect_url(account) in client.get(change_url(account)).content.decode()
    client.force_login(without)
    assert disconnect_url(account) not in client.get(change_url(account)).content.decode()
    assert client.get(disconnect_url(account)).status_code == 403
    assert client.post(disconnect_url(account)).status_code == 403
    account.refresh_from_db()
    assert account.is_active


def test_disconnect_from_the_object_page_is_confirmed_and_logged(
    client, account, django_capture_on_commit_callbacks
):
    user = staff(
        "view_stripeaccount", "change_stripeaccount", "disconnect_stripeaccount", team=account.team
    )
    client.force_login(user)
    page = client.get(disconnect_url(account))
    assert page.status_code == 200 and "Yes, disconnect" in page.content.decode()
    account.refresh_from_db()
    assert account.is_active
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(disconnect_url(account))
    assert response.status_code == 302 and response["Location"] == change_url(account)
    account.refresh_from_db()
    assert account.status == StripeAccount.Status.DISCONNECTED
    assert len(callbacks) == 2  # signal + background deauthorize, after commit
    entry = LogEntry.objects.get(object_id=str(account.pk))
    assert entry.user == user and entry.get_change_message() == "Disconnected from Stripe."
    assert disconnect_url(account) not in client.get(change_url(account)).content.decode()


def test_disconnect_without_csrf_token_is_refused(account):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert csrf_client.post(disconnect_url(account)).status_code == 403
    response = csrf_client.post(change_url(account), form_data(account, account.site))
    assert response.status_code == 403
    account.refresh_from_db()
    assert account.is_active and not LogEntry.objects.exists()


def test_bulk_disconnect_action_needs_the_permission_and_logs_each(client, account):
    # All three in the staff user's team (the admin shows staff only the teams they manage).
    second = StripeAccountFactory(site=account.site)
    already = StripeAccountFactory(site=account.site, status=StripeAccount.Status.DISCONNECTED)
    changelist = reverse("admin:bento_stripe_stripeaccount_changelist")
    data = {
        "action": "disconnect_selected",
        "_selected_action": [account.pk, second.pk, already.pk],
    }
    client.force_login(staff("view_stripeaccount", "change_stripeaccount", team=account.team))
    assert "disconnect_selected" not in client.get(changelist).content.decode()
    client.post(changelist, data)
    assert StripeAccount.objects.active().count() == 2

    user = staff(
        "view_stripeaccount", "change_stripeaccount", "disconnect_stripeaccount", team=account.team
    )
    client.force_login(user)
    assert "disconnect_selected" in client.get(changelist).content.decode()
    response = client.post(changelist, data, follow=True)
    assert "2 Stripe accounts disconnected." in response.content.decode()
    assert not StripeAccount.objects.active().exists()
    logged = set(LogEntry.objects.filter(user=user).values_list("object_id", flat=True))
    assert logged == {str(account.pk), str(second.pk)}


# --- one team at a time holds an account, whatever the front door ---------------------------


def _add(client, site, stripe_user_id, livemode):
    data = {
        "team": site.team_id,
        "site": site.pk,
        "stripe_user_id": stripe_user_id,
        "scope": "read_only",
        "display_name": "Added in the admin",
    }
    if livemode:
        data["livemode"] = "on"
    return client.post(reverse("admin:bento_stripe_stripeaccount_add"), data)


@pytest.mark.parametrize("livemode", [False, True])
def test_the_admin_add_form_refuses_an_account_another_team_holds(admin_client, livemode):
    held = StripeAccountFactory(stripe_user_id="acct_1HeldByTeamB", livemode=False)
    other_site = SiteFactory()
    response = _add(admin_client, other_site, "acct_1HeldByTeamB", livemode)
    assert response.status_code == 200  # the form again, with the error
    assert "already connected to another team" in response.content.decode()
    assert list(StripeAccount.objects.values_list("pk", flat=True)) == [held.pk]


def test_the_admin_add_form_connects_through_the_service(
    admin_client, admin_user, django_capture_on_commit_callbacks
):
    site = SiteFactory()
    StripeAccountFactory(team=site.team, site=site, stripe_user_id="acct_1Ours", livemode=False)
    connected = []

    def receiver(**kwargs):
        connected.append(kwargs["account"].pk)

    signals.account_connected.connect(receiver, dispatch_uid="test-admin-add")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = _add(admin_client, site, "acct_1Ours", True)  # the team's live mode
    finally:
        signals.account_connected.disconnect(dispatch_uid="test-admin-add")
    assert response.status_code == 302
    added = StripeAccount.objects.get(stripe_user_id="acct_1Ours", livemode=True)
    assert added.is_active and added.connected_by == admin_user and added.connected_at
    assert connected == [added.pk]


def test_model_validation_refuses_an_account_another_team_holds():
    from django.core.exceptions import ValidationError

    StripeAccountFactory(stripe_user_id="acct_1HeldByTeamB", livemode=True)
    site = SiteFactory()
    candidate = StripeAccount(
        team=site.team, site=site, stripe_user_id="acct_1HeldByTeamB", livemode=False
    )
    with pytest.raises(ValidationError, match="already connected to another team"):
        candidate.full_clean()


@pytest.mark.parametrize("livemode", [False, True])
def test_the_service_refuses_an_account_another_team_holds_in_either_mode(livemode):
    from bento_stripe import services
    from bento_stripe.exceptions import AlreadyConnectedError

    StripeAccountFactory(stripe_user_id="acct_1HeldByTeamB", livemode=False)
    site = SiteFactory()
    with pytest.raises(AlreadyConnectedError):
        services.connect_account(
            team=site.team, site=site, stripe_user_id="acct_1HeldByTeamB", livemode=livemode
        )


def test_an_app_connection_shows_its_kind_and_state_but_never_a_token():
    from datetime import timedelta

    from django.utils import timezone

    access, refresh = (
        "rk_test_admin_scan_access_0123456789",
        "rt_test_admin_scan_refresh_0123456789",
    )
    app = StripeAccountFactory(
        kind=StripeAccount.Kind.APP,
        access_token=access,
        refresh_token=refresh,
        access_token_expires_at=timezone.now() + timedelta(hours=1),
        needs_reconnect=True,
    )
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    listing = client.get(reverse("admin:bento_stripe_stripeaccount_changelist")).content.decode()
    assert "Stripe App" in listing and "needs_reconnect" in listing
    filtered = client.get(
        reverse("admin:bento_stripe_stripeaccount_changelist") + "?needs_reconnect__exact=1"
    )
    assert app.stripe_user_id in filtered.content.decode()
    page = client.get(change_url(app)).content.decode()
    assert "Stripe App" in page and "Needs to be connected again" in page
    assert access not in page and refresh not in page and 'name="kind"' not in page
    assert access not in listing and refresh not in listing
