"""Every model's admin changelist and change form render; secrets never appear whole."""

import pytest
from django.urls import reverse

from tests.factories import (
    MembershipFactory,
    OutboxEventFactory,
    SiteFactory,
    StripeAccountFactory,
    SubscriberFactory,
)

pytestmark = pytest.mark.django_db

SECRET = "sk_bento_super_secret_9f3k"


@pytest.fixture
def objects():
    account = StripeAccountFactory(site=SiteFactory(bento_secret_key=SECRET))
    MembershipFactory(team=account.team)
    return {
        "team": account.team,
        "membership": account.team.memberships.first(),
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
