"""Every model's admin changelist and change form render; secrets never appear whole."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from bento_stripe.models import OutboxEvent
from tests.factories import (
    MembershipFactory,
    OutboxEventFactory,
    SiteFactory,
    StripeAccountFactory,
    SubscriberFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SECRET = "sk_bento_super_secret_9f3k"


@pytest.fixture
def objects():
    account = StripeAccountFactory(site=SiteFactory(bento_secret_key=SECRET))
    MembershipFactory(team=account.team)
    return {
        "team": account.team,
        "membership": account.team.bento_stripe_memberships.first(),
        "site": account.site,
        "stripeaccount": account,
        "subscriber": SubscriberFactory(site=account.site),
        "outboxevent": OutboxEventFactory(site=account.site),
    }


@pytest.mark.parametrize("model", ["team", "site", "stripeaccount", "subscriber", "outboxevent"])
def test_changelist_and_change_form_render(admin_client, objects, model):
    obj = objects[model]
    changelist = admin_client.get(reverse(f"admin:bento_stripe_{model}_changelist"))
    assert changelist.status_code == 200
    change = admin_client.get(reverse(f"admin:bento_stripe_{model}_change", args=[obj.pk]))
    assert change.status_code == 200
    for response in (changelist, change):
        assert SECRET not in response.content.decode()


def test_site_admin_shows_masked_secret_and_keeps_it_when_left_empty(admin_client, objects):
    site = objects["site"]
    page = admin_client.get(reverse("admin:bento_stripe_site_changelist")).content.decode()
    assert "••••••••9f3k" in page
    response = admin_client.post(
        reverse("admin:bento_stripe_site_change", args=[site.pk]),
        {
            "team": site.team_id,
            "name": "Renamed",
            "bento_site_uuid": site.bento_site_uuid,
            "bento_publishable_key": site.bento_publishable_key,
            "bento_secret_key": "",
        },
    )
    assert response.status_code == 302
    site.refresh_from_db()
    assert site.name == "Renamed"
    assert site.bento_secret_key == SECRET


def test_stripeaccount_change_form_offers_only_team_sites(admin_client, objects):
    account = objects["stripeaccount"]
    foreign = SiteFactory(name="Foreign site of another team")
    own = SiteFactory(team=account.team, name="Own second site")
    page = admin_client.get(
        reverse("admin:bento_stripe_stripeaccount_change", args=[account.pk])
    ).content.decode()
    assert own.name in page
    assert foreign.name not in page


def test_add_forms_render(admin_client):
    for model in ("team", "site", "stripeaccount"):
        assert admin_client.get(reverse(f"admin:bento_stripe_{model}_add")).status_code == 200


# --- outbox actions resend to Bento: they need the change permission -----------------------


def _staff(*codenames: str, team=None) -> Client:
    """A staff client with these permissions; an owner of ``team`` (the admin shows staff
    only the teams they manage)."""
    user = UserFactory(is_staff=True)
    if team is not None:
        MembershipFactory(team=team, user=user, role="owner")
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="bento_stripe", codename__in=codenames)
    )
    client = Client()
    client.force_login(user)
    return client


def _rows():
    site = SiteFactory()
    delivered = OutboxEventFactory(
        site=site, status=OutboxEvent.Status.DELIVERED, attempts=1, email="delivered@example.com"
    )
    dead = OutboxEventFactory(
        site=site, status=OutboxEvent.Status.DEAD, attempts=10, email="dead@example.com"
    )
    return delivered, dead


def _post_action(client: Client, action: str, rows) -> None:
    client.post(
        reverse("admin:bento_stripe_outboxevent_changelist"),
        {"action": action, "_selected_action": [row.pk for row in rows], "index": 0},
    )


def test_view_only_staff_see_no_outbox_actions_and_are_told_why():
    client = _staff("view_outboxevent")
    _rows()
    page = client.get(reverse("admin:bento_stripe_outboxevent_changelist"))
    assert page.status_code == 200
    assert page.context["action_form"] is None
    html = page.content.decode()
    assert 'value="retry_now"' not in html and 'value="replay"' not in html
    assert "bento_stripe.change_outboxevent" in html  # the note names the permission


@pytest.mark.parametrize("action", ["replay", "retry_now"])
def test_a_forged_action_post_by_view_only_staff_changes_nothing(action, monkeypatch):
    queued = []
    monkeypatch.setattr("bento_stripe.queue.drain_sites_on_commit", lambda ids: queued.append(ids))
    client = _staff("view_outboxevent")
    delivered, dead = _rows()
    _post_action(client, action, [delivered, dead])
    delivered.refresh_from_db()
    dead.refresh_from_db()
    assert (delivered.status, delivered.attempts) == (OutboxEvent.Status.DELIVERED, 1)
    assert (dead.status, dead.attempts) == (OutboxEvent.Status.DEAD, 10)
    assert queued == []


def test_staff_with_the_change_permission_run_the_outbox_actions(monkeypatch):
    monkeypatch.setattr("bento_stripe.queue.drain_sites_on_commit", lambda ids: None)
    delivered, dead = _rows()
    client = _staff("view_outboxevent", "change_outboxevent", team=delivered.site.team)
    page = client.get(reverse("admin:bento_stripe_outboxevent_changelist")).content.decode()
    assert 'value="retry_now"' in page and 'value="replay"' in page
    assert "bento_stripe.change_outboxevent" not in page
    _post_action(client, "retry_now", [delivered, dead])
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == (OutboxEvent.Status.PENDING, 0)
    _post_action(client, "replay", [delivered])
    delivered.refresh_from_db()
    assert delivered.status == OutboxEvent.Status.PENDING


def test_ledger_money_reads_as_money_in_its_currency(admin_client):
    from bento_stripe.models import LedgerCharge, LedgerDispute

    LedgerCharge.objects.create(
        stripe_account_id="acct_1", charge_id="ch_usd", currency="usd", captured=6268657
    )
    LedgerCharge.objects.create(
        stripe_account_id="acct_1", charge_id="ch_jpy", currency="jpy", captured=1200, refunded=200
    )
    LedgerDispute.objects.create(
        stripe_account_id="acct_1",
        dispute_id="dp_1",
        charge_id="ch_usd",
        currency="eur",
        amount=990,
    )
    page = admin_client.get(reverse("admin:bento_stripe_ledgercharge_changelist")).content.decode()
    assert "$62,686.57" in page and "¥1,200" in page and "¥200" in page
    assert "6268657" not in page
    page = admin_client.get(reverse("admin:bento_stripe_ledgerdispute_changelist")).content.decode()
    assert "€9.90" in page
