"""Checking a webhook request: the endpoint's encrypted secret, the signature, the event shape."""

from __future__ import annotations

import json
import time

from djstripe.models import WebhookEndpoint, WebhookEventTrigger

from .. import crypto
from ..conf import app_settings
from ..exceptions import InvalidWebhook


def endpoint_secret(endpoint: WebhookEndpoint) -> str:
    """The endpoint's signing secret, decrypted from the ciphertext stored in ``secret``."""
    return crypto.decrypt(endpoint.secret, label="the webhook endpoint's signing secret")


def store_secret(endpoint: WebhookEndpoint, secret: str) -> None:
    """Keep ``secret`` on the endpoint as ciphertext (dj-stripe would keep it in plain text)."""
    endpoint.secret = crypto.encrypt(secret)


def tolerance(endpoint: WebhookEndpoint) -> int:
    """Seconds of clock skew accepted: the endpoint's own, else ``WEBHOOK_TOLERANCE``."""
    return int(endpoint.djstripe_tolerance or app_settings.WEBHOOK_TOLERANCE)


def _signed_at(header: str) -> int | None:
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            return int(value)
    return None


def verify(trigger: WebhookEventTrigger, endpoint: WebhookEndpoint, header: str) -> bool:
    """dj-stripe's signature check with the endpoint's secret; no header can override it.

    Stripe's check refuses timestamps too old; a timestamp too far in the future is
    refused here as well, so "outside the tolerance" holds both ways.
    """
    limit = tolerance(endpoint)
    signed_at = _signed_at(header)
    if signed_at is None or signed_at - time.time() > limit:
        return False
    return trigger.verify_signature(secret=endpoint_secret(endpoint), tolerance=limit)


def mode_refusal(endpoint: WebhookEndpoint, event: dict) -> str:
    """Why ``endpoint`` must refuse ``event`` because of its mode, or ``""`` to accept it.

    A test-mode endpoint (every ``--local`` endpoint unless made with ``--livemode``, and
    any endpoint whose ``livemode`` is not true) takes test-mode events only: its secret
    is the loosely kept kind (``stripe listen`` prints it), so it must never carry live
    money. A live Connect endpoint receives both modes, as Stripe sends them.
    """
    if event.get("livemode") is True and endpoint.livemode is not True:
        return "A live-mode event sent to a test-mode endpoint."
    return ""


def parse_event(body: str) -> dict:
    """The Stripe event in a verified body, or InvalidWebhook when it is not one."""
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise InvalidWebhook("The body is not JSON.") from exc
    if not isinstance(event, dict) or event.get("object") != "event":
        raise InvalidWebhook("The body is not a Stripe event.")
    data = event.get("data")
    checks = (
        isinstance(event.get("id"), str) and event["id"].startswith("evt_"),
        isinstance(event.get("type"), str) and bool(event["type"]),
        isinstance(event.get("created"), int) and not isinstance(event["created"], bool),
        isinstance(data, dict) and isinstance(data.get("object"), dict),
        isinstance(event.get("account", ""), str | None),
    )
    if not all(checks):
        raise InvalidWebhook("The body is not a Stripe event (id, type, created, data.object).")
    if not isinstance(event["data"]["object"].get("id", ""), str | None):
        raise InvalidWebhook("The event's object has no usable id.")
    return event
