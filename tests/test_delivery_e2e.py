"""End to end: signed Stripe events → webhook → ledger → outbox → http backend → stand-in Bento."""

from __future__ import annotations

import io
import json
from collections import Counter

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django_q.conf import Conf

from bento_stripe import simulation
from bento_stripe.models import OutboxEvent
from tests.factories import SiteFactory, StripeAccountFactory

pytestmark = pytest.mark.django_db
SECRET = "whsec_e2e_delivery_0123456789abcdef"


@pytest.fixture
def pipeline(server, monkeypatch):
    """Every queued task runs in-process (django-q2 ``sync``) and Bento is the stand-in."""
    monkeypatch.setattr(Conf, "SYNC", True)
    with override_settings(
        Q_CLUSTER={**settings.Q_CLUSTER, "sync": True},
        BENTO_STRIPE={
            **settings.BENTO_STRIPE,
            "BACKEND": "http",
            "API_URL": server.url,
            "LOOKUP_EMAILS": False,
            "RETRY_BASE_DELAY": 0.05,  # real sleeps here: keep the backoff short
        },
    ):
        yield


def endpoint_path() -> str:
    out = io.StringIO()
    call_command(
        "bento_stripe_endpoint",
        "--url",
        "http://testserver",
        "--local",
        "--secret",
        SECRET,
        "--json",
        stdout=out,
    )
    return json.loads(out.getvalue())["path"]


def post_all(client, path, events, django_capture_on_commit_callbacks):
    for event in events:
        body = simulation.encode(event)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                path,
                data=body,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=simulation.signature(body, SECRET),
            )
        assert response.status_code == 200, response.content


@pytest.mark.parametrize("faults", [0, 3], ids=["healthy", "503-then-recovery"])
def test_signed_stream_reaches_bento_once_with_final_fields(
    client, server, pipeline, django_capture_on_commit_callbacks, faults
):
    server.fail(times=faults, status=503)
    site = SiteFactory()
    server.add_site(site)
    account = StripeAccountFactory(site=site, livemode=False)
    events = simulation.stream(account.stripe_user_id, "jane@example.com")
    path = endpoint_path()
    post_all(client, path, events, django_capture_on_commit_callbacks)
    post_all(client, path, events[:4], django_capture_on_commit_callbacks)  # Stripe retries
    server.wait_idle()

    assert not OutboxEvent.objects.exclude(status=OutboxEvent.Status.DELIVERED).exists()
    sent = server.events(site.bento_site_uuid)
    ids = {e["id"] for e in events}
    assert sent and all(e["details"]["stripe_event_id"] in ids for e in sent)
    per_event = Counter((e["details"]["stripe_event_id"], e["type"]) for e in sent)
    assert set(per_event.values()) == {1}
    types = {e["type"] for e in sent}
    assert {"$ChargeSucceeded", "$ChargeRefunded", "$InvoicePaymentFailed"} <= types
    succeeded = next(e for e in sent if e["type"] == "$ChargeSucceeded")
    assert succeeded["details"]["value"] == {"currency": "USD", "amount": 4900}
    refunded = next(e for e in sent if e["type"] == "$ChargeRefunded")
    assert refunded["details"]["value"]["amount"] == -1500
    fields = server.bento(site.bento_site_uuid).subscribers["jane@example.com"]
    assert fields["lifetime_value"] == 34.0
    assert fields["currency"] == "USD"
    assert (fields["mrr"], fields["plan"], fields["subscription_status"]) == (
        49.0,
        "Pro",
        "past_due",
    )
    assert fields["stripe_customer_id"].startswith("cus_sim")
    assert [r.status for r in server.requests][:faults] == [503] * faults
    assert all(r.status == 200 for r in server.requests[faults:])
