"""``POST /api/stripe-accounts/<id>/backfill/`` and the backfill state in a connection's detail."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bento_stripe.models import BackfillCursor, StripeAccount

from .api_helpers import assert_error, client_for, snapshot

pytestmark = pytest.mark.django_db


def url(account: StripeAccount) -> str:
    return f"/api/stripe-accounts/{account.pk}/backfill/"


def test_detail_says_no_backfill_before_one_starts(world):
    body = client_for(world["member"]).get(f"/api/stripe-accounts/{world['account'].pk}/").json()
    assert body["backfill"] == {
        "state": "none",
        "done": False,
        "percent": 0,
        "objects_done": 0,
        "resources": [],
    }


def test_an_owner_starts_it_and_the_task_is_queued_after_commit(
    world, django_capture_on_commit_callbacks
):
    account = world["account"]
    client = client_for(world["owner"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url(account), {"since": "2026-01-01"}, format="json")
    assert response.status_code == 200, response.content
    backfill = response.json()["backfill"]
    assert backfill["state"] == "pending" and backfill["percent"] == 0
    resources = [r["resource"] for r in backfill["resources"]]
    assert resources == [
        "products",
        "prices",
        "customers",
        "charges",
        "disputes",
        "subscriptions",
        "invoices",
        "people",
    ]
    since = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    cursors = BackfillCursor.objects.filter(account=account).exclude(resource="events")
    assert {c.since for c in cursors} == {since} and {c.run for c in cursors} == {1}
    assert len(callbacks) == 1  # the backfill task, queued once the cursors are committed


def test_a_second_start_resumes_the_run_under_way(world, django_capture_on_commit_callbacks):
    account = world["account"]
    client = client_for(world["owner"])
    with django_capture_on_commit_callbacks(execute=False):
        client.post(url(account), {}, format="json")
        again = client.post(url(account), {}, format="json")
    assert again.status_code == 200
    runs = set(BackfillCursor.objects.filter(account=account).values_list("run", flat=True))
    assert runs == {1}


def test_a_disconnected_account_is_a_conflict_and_nothing_starts(world):
    account = world["account"]
    StripeAccount.objects.filter(pk=account.pk).update(status=StripeAccount.Status.DISCONNECTED)
    before = snapshot()
    response = client_for(world["owner"]).post(url(account), {}, format="json")
    assert_error(response, 409, "conflict")
    assert "not connected" in response.json()["detail"]
    assert snapshot() == before


@pytest.mark.parametrize("since", ["yesterday", 20260101, "2026-13-01"])
def test_a_bad_since_is_a_400_naming_it_and_nothing_starts(world, since):
    before = snapshot()
    response = client_for(world["owner"]).post(
        url(world["account"]), {"since": since}, format="json"
    )
    assert_error(response, 400)
    assert "since" in response.json()["fields"]
    assert snapshot() == before
