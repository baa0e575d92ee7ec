"""The REST API: bad input gets a clear 4xx in the one error shape; today's reads and writes."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from bento_stripe.models import StripeAccount

from .api_helpers import SECRET, account_url, assert_error, client_for, snapshot

pytestmark = pytest.mark.django_db


# --- Bad input: a clear 4xx in the error shape, and nothing changed ---


@pytest.mark.parametrize(
    "path",
    [
        "/api/teams/999999/",
        "/api/sites/999999/",
        "/api/stripe-accounts/999999/",
        "/api/stripe-accounts/abc/",
        "/api/stripe-accounts/99999999999999999999999/",
        "/api/stripe-accounts/999999/events/",
        "/api/subscribers/999999/",
        "/api/subscribers/-1/",
        "/api/no-such-thing/",
        "/api/stripe-accounts/1/events/evt_nope/replay/extra/",
    ],
)
def test_unknown_objects_and_paths_are_404(world, path):
    assert_error(client_for(world["owner"]).get(path), 404, "not_found")


def test_unknown_event_of_a_known_connection_is_404(world):
    client = client_for(world["owner"])
    base = f"/api/stripe-accounts/{world['account'].pk}/events/"
    assert_error(client.get(f"{base}evt_nope/"), 404, "not_found")
    # Another connection's event is not this connection's, even with the same team's user.
    assert_error(client.get(f"{base}{world['other_event'].stripe_event_id}/"), 404, "not_found")
    before = snapshot()
    assert_error(client.post(f"{base}evt_nope/replay/"), 404, "not_found")
    assert snapshot() == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"site": "abc"}, "site"),
        ({"site": [1]}, "site"),
        ({"site": None}, "site"),
        ({"site": 999999}, "site"),
        ({"site": 1.5}, "site"),
    ],
    ids=["text", "list", "null", "unknown", "float"],
)
def test_reroute_with_a_bad_site_is_400(world, body, field):
    before = snapshot()
    response = client_for(world["owner"]).patch(account_url(world), body, format="json")
    body = assert_error(response, 400, "invalid")
    assert field in body["fields"] and body["fields"][field]
    assert snapshot() == before


def test_reroute_to_another_teams_site_is_400_like_an_unknown_one(world):
    before = snapshot()
    response = client_for(world["owner"]).patch(
        account_url(world), {"site": world["other"].site_id}, format="json"
    )
    body = assert_error(response, 400, "invalid")
    unknown = client_for(world["owner"]).patch(account_url(world), {"site": 999999}, format="json")
    assert body["fields"]["site"] == [
        m.replace("999999", str(world["other"].site_id)) for m in unknown.json()["fields"]["site"]
    ]
    assert snapshot() == before


def test_put_without_the_site_is_400(world):
    before = snapshot()
    body = assert_error(client_for(world["owner"]).put(account_url(world), {}, format="json"), 400)
    assert body["fields"]["site"]
    assert snapshot() == before


def test_malformed_json_is_400_parse_error(world):
    before = snapshot()
    response = client_for(world["owner"]).generic(
        "PATCH", account_url(world), '{"site": ', content_type="application/json"
    )
    assert_error(response, 400, "parse_error")
    assert snapshot() == before


def test_a_body_that_is_not_json_is_415(world):
    before = snapshot()
    response = client_for(world["owner"]).generic(
        "PATCH", account_url(world), "site=1", content_type="text/plain"
    )
    assert_error(response, 415, "unsupported_media_type")
    assert snapshot() == before


def test_a_json_body_that_is_not_an_object_is_400(world):
    before = snapshot()
    response = client_for(world["owner"]).patch(
        account_url(world), json.dumps([1]), content_type="application/json"
    )
    body = assert_error(response, 400, "invalid")
    assert body["fields"]["non_field_errors"]
    assert snapshot() == before


@pytest.mark.parametrize("method", ["delete", "post"])
def test_other_methods_are_405(world, method):
    before = snapshot()
    response = getattr(client_for(world["owner"]), method)(account_url(world))
    assert_error(response, 405, "method_not_allowed")
    assert snapshot() == before


def test_an_unacceptable_accept_header_is_406(world):
    response = client_for(world["owner"]).get("/api/teams/", HTTP_ACCEPT="application/xml")
    assert_error(response, 406, "not_acceptable")


@pytest.mark.parametrize(
    "path, field",
    [
        ("/api/sites/?team=abc", "team"),
        ("/api/sites/?team=1.5", "team"),
        ("/api/stripe-accounts/?status=nope", "status"),
        ("/api/stripe-accounts/?livemode=maybe", "livemode"),
        ("/api/subscribers/?site=x", "site"),
        ("/api/stripe-accounts/{account}/events/?status=nope", "status"),
        ("/api/stripe-accounts/{account}/events/?received_after=yesterday", "received_after"),
        ("/api/stripe-accounts/{account}/events/?delivery_status=lost", "delivery_status"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(world, path, field):
    path = path.format(account=world["account"].pk)
    body = assert_error(client_for(world["member"]).get(path), 400, "invalid")
    assert list(body["fields"]) == [field]


def test_a_page_past_the_end_is_404(world):
    assert_error(client_for(world["member"]).get("/api/teams/?page=9"), 404, "not_found")
    assert_error(client_for(world["member"]).get("/api/teams/?page=abc"), 404, "not_found")


def test_the_host_exception_handler_does_not_change_the_shape(world):
    with override_settings(
        REST_FRAMEWORK={"EXCEPTION_HANDLER": "rest_framework.views.exception_handler"}
    ):
        assert_error(client_for().get("/api/teams/"), 401, "not_authenticated")


# --- Today's reads and writes, through the service layer ---


def test_lists_only_own_teams_objects_with_pagination(world):
    client = client_for(world["member"])
    page = client.get("/api/stripe-accounts/").json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert [a["id"] for a in page["results"]] == [world["account"].pk]
    teams = client.get("/api/teams/").json()["results"]
    assert [(t["id"], t["role"]) for t in teams] == [(world["account"].team_id, "member")]
    sites = client.get("/api/sites/").json()["results"]
    assert {s["id"] for s in sites} == {world["account"].site_id, world["second_site"].pk}
    assert SECRET not in str(sites)


def test_page_size_is_honoured_and_capped(world):
    client = client_for(world["member"])
    first = client.get("/api/sites/?page_size=1").json()
    assert first["count"] == 2 and len(first["results"]) == 1 and first["next"]
    second = client.get(first["next"]).json()
    assert {first["results"][0]["id"], second["results"][0]["id"]} == {
        world["account"].site_id,
        world["second_site"].pk,
    }
    assert len(client.get("/api/sites/?page_size=100000").json()["results"]) == 2


def test_filters_narrow_lists(world):
    client = client_for(world["owner"])
    team = world["account"].team_id
    assert client.get(f"/api/sites/?team={team}").json()["count"] == 2
    assert client.get(f"/api/sites/?team={world['other'].team_id}").json()["count"] == 0
    assert client.get("/api/stripe-accounts/?status=active").json()["count"] == 1
    assert client.get("/api/stripe-accounts/?status=disconnected").json()["count"] == 0
    assert client.get("/api/stripe-accounts/?livemode=true").json()["count"] == 0


def test_owner_reroutes_through_service(world, django_capture_on_commit_callbacks):
    account = world["account"]
    with django_capture_on_commit_callbacks(execute=False):
        response = client_for(world["owner"]).patch(
            account_url(world), {"site": world["second_site"].pk}, format="json"
        )
    assert response.status_code == 200, response.content
    assert response.json()["site"] == world["second_site"].pk
    assert StripeAccount.objects.get(pk=account.pk).site == world["second_site"]
    from bento_stripe.models import Reroute

    assert Reroute.objects.filter(account=account).count() == 1


def test_owner_disconnects(world, django_capture_on_commit_callbacks):
    account = world["account"]
    with django_capture_on_commit_callbacks(execute=False):
        response = client_for(world["owner"]).post(f"{account_url(world)}disconnect/")
    assert response.status_code == 200
    assert response.json()["status"] == "disconnected"
    assert StripeAccount.objects.get(pk=account.pk).status == StripeAccount.Status.DISCONNECTED


def test_connection_detail_counts_its_events(world):
    detail = client_for(world["member"]).get(account_url(world)).json()
    assert detail["events"] == {"received": 0, "processed": 1, "ignored": 0, "failed": 0}
    listed = client_for(world["member"]).get("/api/stripe-accounts/").json()["results"][0]
    assert "events" not in listed


def test_list_query_counts_do_not_grow_with_rows(world, django_assert_max_num_queries):
    from .factories import StripeAccountFactory

    for _ in range(5):
        StripeAccountFactory(team=world["account"].team, site=world["second_site"])
    client = client_for(world["member"])
    with django_assert_max_num_queries(5):
        assert client.get("/api/stripe-accounts/").json()["count"] == 6
