"""Webhooks under hypothesis: no body or Stripe-Signature header answers 5xx, nothing
unsigned is stored or forwarded, and signed bodies are either a stored event or a 400."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client
from djstripe.models import WebhookEventTrigger
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bento_stripe.models import OutboxEvent, StripeEventRecord
from bento_stripe.webhooks.endpoints import endpoint_path
from tests.stripe_events import load, sign

pytestmark = pytest.mark.django_db

#: A list nested 200 deep (a Stripe event is about ten).
DEEP: list = []
for _ in range(200):
    DEEP = [DEEP]

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)

header_items = st.one_of(
    st.builds(lambda t: f"t={t}", st.integers(min_value=-5, max_value=10**13)),
    st.builds(lambda v: f"v1={v}", st.text("0123456789abcdef", min_size=0, max_size=70)),
    st.builds(lambda k, v: f"{k}={v}", st.text(max_size=4), st.text(max_size=10)),
    st.text(max_size=12),
)


def _post(client: Client, endpoint, body: bytes | str, header: str):
    return client.post(
        endpoint_path(endpoint.djstripe_uuid),
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )


def _nothing_stored_or_forwarded():
    assert not StripeEventRecord.objects.exists()
    assert not OutboxEvent.objects.exists()


@FUZZ
@given(
    body=st.one_of(st.binary(max_size=300), st.text(max_size=300), json_values.map(json.dumps)),
    items=st.lists(header_items, min_size=1, max_size=6),
)
def test_unsigned_requests_are_400_and_forward_nothing(endpoint, account, body, items):
    response = _post(Client(), endpoint, body, ",".join(items))
    assert response.status_code == 400
    _nothing_stored_or_forwarded()
    WebhookEventTrigger.objects.all().delete()


@FUZZ
@given(
    changes=st.dictionaries(
        st.sampled_from(
            ["id", "type", "created", "livemode", "account", "data", "object", "api_version"]
        ),
        json_values,
        max_size=4,
    )
)
@example(changes={"created": 10**30})
@example(changes={"data": {"object": {"id": "cus_1", "deep": DEEP}}})
@example(changes={"livemode": "yes", "account": "x" * 300})
def test_signed_bodies_are_a_stored_event_or_a_400(endpoint, account, no_lookup, changes):
    event = {**load("customer_created"), **changes}
    body = json.dumps(event)
    response = _post(Client(), endpoint, body, sign(body))
    assert response.status_code in (200, 400), response.content
    if response.status_code == 200:
        assert StripeEventRecord.objects.filter(stripe_event_id=event["id"]).exists()
    else:
        assert not StripeEventRecord.objects.exists()
    StripeEventRecord.objects.all().delete()
    WebhookEventTrigger.objects.all().delete()


@FUZZ
@given(
    before=st.lists(header_items, max_size=3),
    after=st.lists(header_items, max_size=3),
    skew=st.integers(min_value=-10_000, max_value=10_000),
)
def test_a_real_signature_among_junk_is_taken_only_in_stripes_form(
    endpoint, account, no_lookup, before, after, skew
):
    body = json.dumps(load("customer_created"))
    timestamp = int(time.time()) + skew
    good = sign(body, timestamp=timestamp)
    header = ",".join([*before, good, *after])
    response = _post(Client(), endpoint, body, header)
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        # Accepted only when the one timestamp read is the signed one, within tolerance.
        assert abs(skew) <= 300
        assert not any(item.startswith("t=") for item in [*before, *after])
    StripeEventRecord.objects.all().delete()
    WebhookEventTrigger.objects.all().delete()
