"""The admin scoped by the team policy: staff see and change only the teams they manage
(the access table's admin rows for staff of one team, and the POSTs that must change nothing)."""

from __future__ import annotations

import json

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from bento_stripe.models import StripeAccount

from .conftest import ACTORS, World
from .test_access import (
    MISSING,
    _snapshot,
    _superuser_request,
    admin_url,
    app_url_names,
    outcome,
)

pytestmark = pytest.mark.django_db


def _all_permissions_staff(world: World, team) -> object:
    """A staff user with every bento_stripe permission who owns ``team``."""
    from django.contrib.auth.models import Permission

    from bento_stripe.models import Membership
    from tests.factories import MembershipFactory

    user = MembershipFactory(team=team, role=Membership.Role.OWNER).user
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="bento_stripe"))
    return user


def scoped_admin_rule(model_admin: admin.ModelAdmin, view: str, own_team: bool) -> object:
    """Staff with every permission: their own team's objects as a superuser sees them;
    another team's objects do not exist for them (the custom disconnect view: 404)."""
    if view == "add":
        return 200 if model_admin.has_add_permission(_superuser_request()) else 403
    if view == "delete" and not model_admin.has_delete_permission(_superuser_request()):
        return 403  # a read-only admin (the catalogue): nobody deletes there
    if view == "changelist" or own_team:
        return 200
    return 404 if view == "disconnect" else MISSING


@pytest.mark.parametrize("own_team", [True, False], ids=["team_a_staff", "team_b_staff"])
def test_admin_shows_staff_only_the_teams_they_manage(world, own_team):
    team = world.account.team if own_team else world.other_account.team
    client = Client()
    client.force_login(_all_permissions_staff(world, team))
    wrong = []
    for name in sorted(n for n in app_url_names() if n.startswith("admin:")):
        url, model_admin, view = admin_url(world, name)
        expected = scoped_admin_rule(model_admin, view, own_team)
        got = outcome(client.get(url))
        if got != expected:
            wrong.append(f"{name} ({url}): expected {expected}, got {got}")
    assert not wrong, "\n".join(wrong)


def test_admin_lists_of_team_b_staff_hold_nothing_of_team_a(world):
    client = Client()
    client.force_login(_all_permissions_staff(world, world.other_account.team))
    for path, needle in (
        ("admin:bento_stripe_stripeaccount_changelist", world.account.stripe_user_id),
        ("admin:bento_stripe_stripeeventrecord_changelist", world.event.stripe_event_id),
        ("admin:bento_stripe_subscriber_changelist", world.subscriber.email),
        ("admin:bento_stripe_ledgercustomer_changelist", "cus_1TeamA"),
        ("admin:bento_stripe_outboxevent_changelist", world.outbox.email),
        ("admin:bento_stripe_site_changelist", world.second_site.name),
        ("admin:bento_stripe_catalogueproduct_changelist", "Team A course"),
        ("admin:bento_stripe_catalogueprice_changelist", "price_1TeamA"),
    ):
        body = client.get(reverse(path)).content.decode()
        assert needle not in body, path
    # Their own connection is there.
    body = client.get(reverse("admin:bento_stripe_stripeaccount_changelist")).content.decode()
    assert world.other_account.stripe_user_id in body


def test_team_b_staff_cannot_disconnect_or_reroute_team_a_in_the_admin(world, monkeypatch):
    monkeypatch.setattr("bento_stripe.queue.enqueue_on_commit", lambda *a, **kw: None)
    client = Client()
    client.force_login(_all_permissions_staff(world, world.other_account.team))
    account = world.account
    client.post(reverse("admin:bento_stripe_stripeaccount_disconnect", args=[account.pk]))
    client.post(
        reverse("admin:bento_stripe_stripeaccount_changelist"),
        {"action": "disconnect_selected", "_selected_action": [account.pk]},
    )
    assert _snapshot(world) == (StripeAccount.Status.ACTIVE, account.site_id)


@pytest.mark.parametrize("actor", ACTORS)
def test_only_the_teams_managers_erase_its_people_through_the_api(world, actor):
    from bento_stripe.models import LedgerCustomer

    response = world.client(actor).post(
        reverse("bento_stripe_api:subscriber-erase"),
        json.dumps({"email": "jane@example.com", "team": world.account.team_id}),
        content_type="application/json",
    )
    erased = not LedgerCustomer.objects.filter(customer_id="cus_1TeamA").exists()
    assert erased is (actor == "owner"), (actor, response.status_code)


@pytest.mark.parametrize("actor", ACTORS)
def test_metrics_when_on_answer_staff_only(world, actor, settings):
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "METRICS_ENABLED": True}
    got = world.client(actor).get(reverse("bento_stripe:metrics")).status_code
    # view_only_staff and staff_without_permission manage no team: they see nothing.
    assert got == (200 if actor == "superuser" else 404), actor
