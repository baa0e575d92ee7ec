"""The REST API: team-scoped reads, manager-only writes through the service layer."""

import pytest
from rest_framework.test import APIClient

from bento_stripe.models import Membership, StripeAccount
from tests.factories import (
    MembershipFactory,
    SiteFactory,
    StripeAccountFactory,
    SubscriberFactory,
    UserFactory,
    reported_role,
)

pytestmark = pytest.mark.django_db

SECRET = "sk_bento_secret_never_in_api"


@pytest.fixture
def world():
    account = StripeAccountFactory(site=SiteFactory(bento_secret_key=SECRET))
    other = StripeAccountFactory()
    owner = MembershipFactory(team=account.team, role=Membership.Role.OWNER).user
    member = MembershipFactory(team=account.team, role=Membership.Role.MEMBER).user
    return {"account": account, "other": other, "owner": owner, "member": member}


def client_for(user, *, csrf=False):
    client = APIClient(enforce_csrf_checks=csrf)
    if user is not None:
        client.force_login(user)
    return client


def test_anonymous_is_refused(world):
    response = APIClient().get("/api/stripe-accounts/")
    assert response.status_code == 403


def test_lists_only_own_teams_objects(world):
    client = client_for(world["member"])
    accounts = client.get("/api/stripe-accounts/").json()
    assert [a["id"] for a in accounts] == [world["account"].pk]
    assert client.get(f"/api/stripe-accounts/{world['other'].pk}/").status_code == 404
    teams = client.get("/api/teams/").json()
    assert [(t["id"], t["role"]) for t in teams] == [
        (world["account"].team_id, reported_role("member"))
    ]
    sites = client.get("/api/sites/").json()
    assert [s["id"] for s in sites] == [world["account"].site_id]
    assert SECRET not in str(sites)


def test_owner_reroutes_through_service(world):
    account = world["account"]
    new_site = SiteFactory(team=account.team)
    response = client_for(world["owner"]).patch(
        f"/api/stripe-accounts/{account.pk}/", {"site": new_site.pk}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["site"] == new_site.pk
    assert StripeAccount.objects.get(pk=account.pk).site == new_site


def test_reroute_to_another_teams_site_is_400(world):
    account = world["account"]
    response = client_for(world["owner"]).patch(
        f"/api/stripe-accounts/{account.pk}/", {"site": world["other"].site_id}, format="json"
    )
    assert response.status_code == 400
    assert StripeAccount.objects.get(pk=account.pk).site_id == account.site_id


def test_plain_member_cannot_change_or_disconnect(world):
    account = world["account"]
    client = client_for(world["member"])
    new_site = SiteFactory(team=account.team)
    patch = client.patch(f"/api/stripe-accounts/{account.pk}/", {"site": new_site.pk})
    assert patch.status_code == 403
    post = client.post(f"/api/stripe-accounts/{account.pk}/disconnect/")
    assert post.status_code == 403
    assert StripeAccount.objects.get(pk=account.pk).status == StripeAccount.Status.ACTIVE


def test_owner_disconnects(world, django_capture_on_commit_callbacks):
    account = world["account"]
    with django_capture_on_commit_callbacks(execute=False):
        response = client_for(world["owner"]).post(f"/api/stripe-accounts/{account.pk}/disconnect/")
    assert response.status_code == 200
    assert response.json()["status"] == "disconnected"
    assert StripeAccount.objects.get(pk=account.pk).status == StripeAccount.Status.DISCONNECTED


def test_session_writes_need_csrf(world):
    account = world["account"]
    response = client_for(world["owner"], csrf=True).post(
        f"/api/stripe-accounts/{account.pk}/disconnect/"
    )
    assert response.status_code == 403
    assert StripeAccount.objects.get(pk=account.pk).status == StripeAccount.Status.ACTIVE


def test_subscribers_are_team_scoped_and_filterable(world):
    mine = SubscriberFactory(site=world["account"].site, email="Jane@Example.com")
    SubscriberFactory(site=world["account"].site)
    SubscriberFactory(site=world["other"].site, email="jane@example.com")
    client = client_for(world["member"])
    found = client.get("/api/subscribers/", {"email": "jane@example.com"}).json()
    assert [s["id"] for s in found] == [mine.pk]
    assert len(client.get("/api/subscribers/").json()) == 2


def test_outsider_sees_nothing(world):
    client = client_for(UserFactory())
    assert client.get("/api/stripe-accounts/").json() == []
    assert client.get("/api/teams/").json() == []
