"""Stripe test events: payload files, signing like Stripe signs, posting through the client."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import pytest
import stripe
from django.conf import settings
from django.test import Client, override_settings

from bento_stripe.webhooks.endpoints import endpoint_path, ensure_local

from .factories import StripeAccountFactory

PAYLOADS = Path(__file__).parent / "payloads"
#: The connected account every payload file belongs to.
ACCOUNT_ID = "acct_1BentoTestShop01"
SECRET = "whsec_test_0123456789abcdefghijklmnopqrstuv"


def load(name: str) -> dict:
    """A payload file of tests/payloads/ as a fresh dict."""
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def sign(body: str, secret: str = SECRET, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header the way Stripe computes it (``t=...,v1=HMAC-SHA256``)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{body}", secret)
    return f"t={timestamp},v1={signature}"


def post(client, endpoint, event, *, secret: str = SECRET, timestamp=None, **headers):
    """POST ``event`` (dict or str) signed to ``endpoint`` through Django's test client."""
    body = event if isinstance(event, str) else json.dumps(event)
    path = endpoint_path(endpoint.djstripe_uuid)
    return client.post(
        path,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(body, secret, timestamp),
        **headers,
    )


def with_changes(event: dict, **changes) -> dict:
    """A copy of ``event`` with top-level keys replaced."""
    changed = copy.deepcopy(event)
    changed.update(changes)
    return changed


@pytest.fixture
def account(db):
    """The active test-mode connection the payload files belong to."""
    return StripeAccountFactory(stripe_user_id=ACCOUNT_ID, livemode=False)


@pytest.fixture
def endpoint(db):
    """A local Connect webhook endpoint whose secret is SECRET (stored encrypted)."""
    return ensure_local("http://testserver", SECRET)


@pytest.fixture
def sync_q():
    """django-q2 runs tasks in-process (sync), read per call by bento_stripe."""
    with override_settings(Q_CLUSTER={**settings.Q_CLUSTER, "sync": True}):
        yield


@pytest.fixture
def no_lookup():
    """No Stripe API email lookups (events with unknown emails stay held)."""
    with override_settings(
        BENTO_STRIPE={**settings.BENTO_STRIPE, "LOOKUP_EMAILS": False, "LOOKUP_PRODUCTS": False}
    ):
        yield


@pytest.fixture
def deliver(endpoint, sync_q, django_capture_on_commit_callbacks):
    """Post signed events (CSRF checks on, as for any other POST) and run what commits
    trigger (the task, in sync mode)."""
    client = Client(enforce_csrf_checks=True)

    def _deliver(*events):
        responses = []
        for event in events:
            with django_capture_on_commit_callbacks(execute=True):
                responses.append(post(client, endpoint, event))
        return responses

    return _deliver
