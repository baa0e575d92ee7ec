"""The Connect webhook endpoint: verify, record once, answer fast; processing is elsewhere."""

from __future__ import annotations

import logging
from uuid import UUID

from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from djstripe import signals as djstripe_signals
from djstripe.models import WebhookEndpoint, WebhookEventTrigger
from djstripe.models.webhooks import get_remote_ip

from .. import queue
from ..conf import app_settings
from ..exceptions import InvalidWebhook
from ..models import StripeEventRecord
from . import verification

logger = logging.getLogger(__name__)


#: Request headers never kept in the audit log (Stripe sends none of them).
PRIVATE_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


def _refuse(status: int, message: str) -> HttpResponse:
    return JsonResponse({"error": message}, status=status)


def record_once(event: dict, trigger: WebhookEventTrigger | None = None) -> bool:
    """Store the event under its Stripe id unless it is already stored (also concurrently).

    One INSERT; the stored row is the work queue's entry, and a worker is woken after
    commit (at most a few times a second per process, see ``queue.wake_processing``).
    Returns whether the event is new.
    """
    record = StripeEventRecord(
        stripe_event_id=event["id"],
        event_type=event["type"],
        stripe_account_id=event.get("account") or "",
        livemode=bool(event.get("livemode")),
        created=event["created"],
        api_version=str(event.get("api_version") or "")[:64],
        payload=event,
        trigger=trigger,
    )
    try:
        if connection.in_atomic_block:  # a host's ATOMIC_REQUESTS: keep its transaction usable
            with transaction.atomic():
                record.save(force_insert=True)
        else:
            record.save(force_insert=True)
    except IntegrityError:
        return False
    # robust: a broker hiccup must not turn a recorded event into a 500 (the sweep wakes
    # a worker within a minute).
    queue.wake_processing_on_commit()
    return True


def _reject(trigger: WebhookEventTrigger, message: str) -> HttpResponse:
    trigger.valid = False
    trigger.exception = message[:128]
    trigger.save()
    return _refuse(400, message)


@csrf_exempt
def stripe_webhook(request: HttpRequest, uuid: UUID) -> HttpResponse:
    """Receive one Stripe event for the endpoint ``uuid`` (statuses as DESIGN.md says)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    limit = app_settings.WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _refuse(400, "Bad Content-Length.")
    if declared > limit:
        return _refuse(413, "Body too large.")
    if not request.headers.get("Stripe-Signature"):
        return _refuse(400, "Missing Stripe-Signature header.")
    endpoint = WebhookEndpoint.objects.filter(djstripe_uuid=uuid).first()
    if endpoint is None:
        return _refuse(404, "Unknown webhook endpoint.")
    raw = request.read(limit + 1)
    if len(raw) > limit:
        return _refuse(413, "Body too large.")
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _refuse(400, "The body is not UTF-8.")
    # dj-stripe's trigger verifies the signature. It is saved for a refused request (the
    # audit log of refusals); a verified event costs one INSERT, its record, unless
    # KEEP_WEBHOOK_TRIGGERS keeps every request too.
    trigger = WebhookEventTrigger(
        remote_ip=get_remote_ip(request),
        headers={k: v for k, v in request.headers.items() if k.lower() not in PRIVATE_HEADERS},
        body=body,
        webhook_endpoint=endpoint,
    )
    djstripe_signals.webhook_pre_validate.send(sender=WebhookEventTrigger, instance=trigger)
    valid = verification.verify(trigger, endpoint, request.headers["Stripe-Signature"])
    djstripe_signals.webhook_post_validate.send(
        sender=WebhookEventTrigger, instance=trigger, valid=valid
    )
    if not valid:
        return _reject(trigger, "Bad signature or timestamp outside the tolerance.")
    try:
        event = verification.parse_event(body)
    except InvalidWebhook as exc:
        return _reject(trigger, str(exc))
    refusal = verification.mode_refusal(endpoint, event)
    if refusal:
        return _reject(trigger, refusal)
    kept = None
    if app_settings.KEEP_WEBHOOK_TRIGGERS:
        trigger.valid = True
        trigger.save()
        kept = trigger
    created = record_once(event, kept)
    return JsonResponse({"received": event["id"], "duplicate": not created})
