"""API tokens: made and revoked by their user on the account pages and in the admin."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from knox.models import AuthToken

from bento_stripe.models import Membership

from .api_helpers import assert_error, client_for
from .factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGE = "/account/api-tokens/"


def new_token(page: str) -> str:
    match = re.search(r'<code id="new-token">([^<]+)</code>', page)
    assert match, "the new token is shown"
    return match.group(1)


def test_the_teams_page_links_to_the_tokens_page(client):
    user = MembershipFactory(role=Membership.Role.MEMBER).user
    client.force_login(user)
    page = client.get(reverse("bento_stripe:teams")).content.decode()
    assert f'href="{PAGE}"' in page


def test_tokens_page_needs_a_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "login" in response["Location"]
    assert client.post(PAGE, {"lifetime": "30"}).status_code == 302
    assert not AuthToken.objects.exists()


def test_a_user_makes_a_token_sees_it_once_and_it_works(client):
    membership = MembershipFactory(role=Membership.Role.MEMBER)
    client.force_login(membership.user)
    response = client.post(PAGE, {"lifetime": "30"})
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    token = new_token(response.content.decode())
    row = AuthToken.objects.get()
    assert row.user == membership.user and row.expiry is not None
    assert token not in row.digest and row.digest != token  # only a digest is stored
    assert token.startswith(row.token_key)
    # Shown once: the list shows the key's start only.
    listing = client.get(PAGE).content.decode()
    assert token not in listing and row.token_key in listing
    teams = client_for(token=token).get("/api/teams/").json()["results"]
    assert [t["id"] for t in teams] == [membership.team_id]


def test_a_token_without_expiry(client):
    client.force_login(UserFactory())
    client.post(PAGE, {"lifetime": ""})
    assert AuthToken.objects.get().expiry is None


def test_a_bad_lifetime_is_400_and_makes_nothing(client):
    client.force_login(UserFactory())
    response = client.post(PAGE, {"lifetime": "7"})
    assert response.status_code == 400
    assert not AuthToken.objects.exists()


def test_making_a_token_needs_csrf():
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    assert client.post(PAGE, {"lifetime": "30"}).status_code == 403
    assert not AuthToken.objects.exists()


def test_a_user_revokes_their_token_and_it_is_refused(client):
    user = UserFactory()
    client.force_login(user)
    token = new_token(client.post(PAGE, {"lifetime": "90"}).content.decode())
    row = AuthToken.objects.get()
    response = client.post(reverse("bento_stripe:revoke_api_token", args=[row.digest]))
    assert response.status_code == 302
    assert not AuthToken.objects.exists()
    assert_error(client_for(token=token).get("/api/teams/"), 401, "authentication_failed")


def test_nobody_revokes_another_users_token(client):
    owner, thief = UserFactory(), UserFactory()
    client.force_login(owner)
    client.post(PAGE, {"lifetime": "30"})
    row = AuthToken.objects.get()
    client.force_login(thief)
    response = client.post(reverse("bento_stripe:revoke_api_token", args=[row.digest]), follow=True)
    assert "No such token of yours" in response.content.decode()
    assert AuthToken.objects.filter(pk=row.pk).exists()
    assert row.token_key not in client.get(PAGE).content.decode()


def test_revoking_is_a_post(client):
    client.force_login(UserFactory())
    client.post(PAGE, {"lifetime": "30"})
    row = AuthToken.objects.get()
    url = reverse("bento_stripe:revoke_api_token", args=[row.digest])
    assert client.get(url).status_code == 405
    assert AuthToken.objects.exists()


# --- Admin ---


@pytest.fixture
def staff(client):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_admin_makes_a_token_for_a_user_and_shows_it_once(staff):
    user = MembershipFactory(role=Membership.Role.OWNER).user
    response = staff.post(reverse("admin:knox_authtoken_add"), {"user": user.pk, "lifetime": "365"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = new_token(response.content.decode())
    row = AuthToken.objects.get()
    assert row.user == user and row.digest != token
    # Not in a message (those travel in cookies) and not on the list or object pages.
    assert token not in str(response.cookies)
    changelist = staff.get(reverse("admin:knox_authtoken_changelist")).content.decode()
    assert row.token_key in changelist and token not in changelist
    change = staff.get(reverse("admin:knox_authtoken_change", args=[row.pk])).content.decode()
    assert token not in change
    assert client_for(token=token).get("/api/teams/").status_code == 200


def test_admin_revokes_a_token(staff):
    user = UserFactory()
    from bento_stripe import api_tokens

    row, token = api_tokens.create_token(user, days=30)
    response = staff.post(reverse("admin:knox_authtoken_delete", args=[row.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not AuthToken.objects.exists()
    assert_error(client_for(token=str(token)).get("/api/teams/"), 401, "authentication_failed")


def test_admin_cannot_edit_a_token(staff):
    from bento_stripe import api_tokens

    row, _token = api_tokens.create_token(UserFactory(), days=30)
    url = reverse("admin:knox_authtoken_change", args=[row.pk])
    staff.post(url, {"user": UserFactory().pk})
    assert AuthToken.objects.get().user == row.user
