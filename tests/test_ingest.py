"""The thin ingest: the endpoint and its secret cached per process, invalidated on a new
secret and on removal; one INSERT ... ON CONFLICT DO NOTHING as the dedupe."""

from __future__ import annotations

import pytest
from djstripe.models import WebhookEndpoint

from bento_stripe import crypto
from bento_stripe.models import StripeEventRecord
from bento_stripe.webhooks import ingest
from bento_stripe.webhooks.endpoints import ensure_local
from tests.stripe_events import SECRET, load, post

pytestmark = pytest.mark.django_db
NEW_SECRET = "whsec_test_rolled_0123456789abcdefghijklmn"


@pytest.fixture(autouse=True)
def fresh_cache():
    ingest.forget()
    yield
    ingest.forget()


@pytest.fixture
def endpoint(db):
    return ensure_local("http://testserver", SECRET)


def event(n: int) -> dict:
    return {**load("charge_succeeded"), "id": f"evt_ingest_{n}"}


def test_a_new_secret_is_used_at_once(client, endpoint, django_assert_num_queries):
    assert post(client, endpoint, event(1)).status_code == 200
    with django_assert_num_queries(1):  # cached: the INSERT only
        assert post(client, endpoint, event(2)).status_code == 200
    ensure_local("http://testserver", NEW_SECRET)  # the secret rolls (saved: post_save)
    assert post(client, endpoint, event(3)).status_code == 400  # the old secret is refused
    assert post(client, endpoint, event(4), secret=NEW_SECRET).status_code == 200


def test_a_removed_endpoint_answers_404_at_once(client, endpoint):
    assert post(client, endpoint, event(1)).status_code == 200
    WebhookEndpoint.objects.get(pk=endpoint.pk).delete()  # a disconnect removes it
    assert post(client, endpoint, event(2)).status_code == 404
    assert not StripeEventRecord.objects.filter(stripe_event_id="evt_ingest_2").exists()


def test_another_process_change_is_seen_after_the_cache_seconds(
    client, endpoint, settings, monkeypatch
):
    """A change this process did not make (no signal here) is read after at most
    ``ENDPOINT_CACHE_SECONDS``."""
    now = {"t": 1000.0}
    monkeypatch.setattr(ingest.time, "monotonic", lambda: now["t"])
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "ENDPOINT_CACHE_SECONDS": 5}
    assert post(client, endpoint, event(1)).status_code == 200
    # As another process would: a queryset update sends no post_save here.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret=crypto.encrypt(NEW_SECRET))
    now["t"] += 4.9
    assert post(client, endpoint, event(2)).status_code == 200  # still the cached secret
    now["t"] += 0.2
    assert post(client, endpoint, event(3)).status_code == 400
    assert post(client, endpoint, event(4), secret=NEW_SECRET).status_code == 200


def test_zero_seconds_reads_the_endpoint_every_request(client, endpoint, settings):
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "ENDPOINT_CACHE_SECONDS": 0}
    post(client, endpoint, event(1))
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret=crypto.encrypt(NEW_SECRET))
    assert post(client, endpoint, event(2), secret=NEW_SECRET).status_code == 200


def test_a_duplicate_inserts_nothing_and_is_answered_as_such(client, endpoint):
    first = post(client, endpoint, event(1))
    again = post(client, endpoint, event(1))
    assert first.json()["duplicate"] is False and again.json()["duplicate"] is True
    assert StripeEventRecord.objects.filter(stripe_event_id="evt_ingest_1").count() == 1


def test_insert_once_keeps_the_record_fields(endpoint):
    record = StripeEventRecord(
        stripe_event_id="evt_ingest_fields",
        event_type="charge.succeeded",
        stripe_account_id="acct_1",
        livemode=True,
        created=1_700_000_000,
        api_version="2024-06-20",
        payload={"id": "evt_ingest_fields", "amount": 1234},
    )
    assert ingest.insert_once(record) is True and record.pk
    stored = StripeEventRecord.objects.get(pk=record.pk)
    assert (stored.status, stored.livemode, stored.created, stored.payload["amount"]) == (
        StripeEventRecord.Status.RECEIVED,
        True,
        1_700_000_000,
        1234,
    )
    assert stored.received_at is not None
    assert ingest.insert_once(StripeEventRecord(**{**_fields(stored), "id": None})) is False


def _fields(record):
    return {f.attname: getattr(record, f.attname) for f in StripeEventRecord._meta.concrete_fields}
