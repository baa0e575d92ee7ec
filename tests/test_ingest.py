"""The thin ingest: the endpoint and its secret cached per process, invalidated on a new
secret and on removal; one INSERT ... ON CONFLICT DO NOTHING as the dedupe."""

from __future__ import annotations

import pytest
from django.db import connections
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


def test_insert_event_stores_what_the_model_would(endpoint):
    """The webhook's INSERT (values made straight from the event) and the model's
    (``insert_once`` of an unsaved instance) store the same columns."""
    payload = {
        **load("charge_succeeded"),
        "id": "evt_ingest_same",
        "account": "acct_same",
        "livemode": True,
        "api_version": "2024-06-20",
    }
    assert ingest.insert_event(payload) is True
    via_model = StripeEventRecord(
        stripe_event_id="evt_ingest_same_model",
        event_type=payload["type"],
        stripe_account_id="acct_same",
        livemode=True,
        created=payload["created"],
        api_version="2024-06-20",
        payload={**payload, "id": "evt_ingest_same_model"},
    )
    assert ingest.insert_once(via_model) is True
    fast = _fields(StripeEventRecord.objects.get(stripe_event_id="evt_ingest_same"))
    slow = _fields(StripeEventRecord.objects.get(pk=via_model.pk))
    assert fast["received_at"] is not None and slow["received_at"] is not None
    for name in ("id", "stripe_event_id", "received_at"):
        fast.pop(name), slow.pop(name)
    slow["payload"]["id"] = "evt_ingest_same"
    assert fast == slow
    assert ingest.insert_event(payload) is False  # the dedupe key


@pytest.fixture
def health_checks():
    """Django's per-request health check on, as the example project has it
    (``conn_health_checks=True``), outside any transaction."""
    from django.db import connection

    connection.ensure_connection()
    old = connection.health_check_enabled
    connection.health_check_enabled = True
    yield connection
    connection.health_check_enabled = old


@pytest.mark.django_db(transaction=True)
def test_a_verified_request_is_one_round_trip_with_health_checks(
    client, endpoint, health_checks, monkeypatch
):
    """The INSERT stands in for the health check's ``SELECT 1``: one round trip. (The
    worker wake-up after it, once per interval and process, is left out here.)"""
    from bento_stripe.webhooks import views

    connection = health_checks
    checks, wakes = [], []
    real = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or real())
    monkeypatch.setattr(views.queue, "wake_processing_on_commit", lambda: wakes.append(1))
    assert post(client, endpoint, event(1)).status_code == 200  # the endpoint is cached
    connection.health_check_done = False  # a new request on the kept connection
    assert post(client, endpoint, event(2)).status_code == 200
    assert checks == [] and wakes == [1, 1]
    assert connection.health_check_done  # nothing else in the request checks again
    assert StripeEventRecord.objects.filter(stripe_event_id="evt_ingest_2").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_dead_kept_connection_is_replaced_and_the_event_stored(client, endpoint, health_checks):
    """What the skipped health check would have caught: the INSERT finds the kept
    connection dead, and is sent again on a new one."""
    connection = health_checks
    assert post(client, endpoint, event(1)).status_code == 200
    with connection.cursor() as cursor:  # the server ends this session (a restart, a proxy)
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    killer = connections.create_connection("default")
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        killer.close()
    connection.health_check_done = False
    response = post(client, endpoint, event(2))
    assert response.status_code == 200 and response.json()["duplicate"] is False
    assert StripeEventRecord.objects.filter(stripe_event_id="evt_ingest_2").count() == 1


def test_dj_stripes_validation_signals_still_reach_a_receiver(client, endpoint):
    """The trigger is built only when something needs it: a receiver of dj-stripe's
    validation signals gets the (unsaved) trigger of a verified and of a refused request."""
    from djstripe import signals as djstripe_signals
    from djstripe.models import WebhookEventTrigger

    seen = []

    def receiver(sender, instance, valid, **kwargs):
        seen.append((type(instance), instance.webhook_endpoint.pk, valid))

    djstripe_signals.webhook_post_validate.connect(receiver, sender=WebhookEventTrigger)
    try:
        assert post(client, endpoint, event(1)).status_code == 200
        assert post(client, endpoint, event(2), secret=NEW_SECRET).status_code == 400
    finally:
        djstripe_signals.webhook_post_validate.disconnect(receiver, sender=WebhookEventTrigger)
    assert seen == [
        (WebhookEventTrigger, endpoint.pk, True),
        (WebhookEventTrigger, endpoint.pk, False),
    ]
    assert post(client, endpoint, event(3)).status_code == 200  # none listening: no trigger
    assert WebhookEventTrigger.objects.filter(valid=True).count() == 0
