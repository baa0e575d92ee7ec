"""The Connect webhook endpoint: verify, record once, answer fast; processing is a task."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from djstripe import signals as djstripe_signals
from djstripe.models import WebhookEndpoint, WebhookEventTrigger
from djstripe.models.webhooks import get_remote_ip

from ..conf import app_settings
from ..exceptions import InvalidWebhook
from ..models import StripeEventRecord
from . import verification
from .tasks import enqueue

logger = logging.getLogger(__name__)


def _refuse(status: int, message: str) -> HttpResponse:
    return JsonResponse({"error": message}, status=status)


def record_once(event: dict, trigger: WebhookEventTrigger) -> tuple[StripeEventRecord, bool]:
    """Store the event under its Stripe id unless it is already stored (also concurrently)."""
    try:
        with transaction.atomic():
            record = StripeEventRecord.objects.create(
                stripe_event_id=event["id"],
                event_type=event["type"],
                stripe_account_id=event.get("account") or "",
                livemode=bool(event.get("livemode")),
                created=event["created"],
                api_version=str(event.get("api_version") or "")[:64],
                payload=event,
                trigger=trigger,
            )
            # robust: a broker hiccup must not turn a recorded event into a 500 (the sweeper
            # picks the event up later).
            transaction.on_commit(lambda: enqueue(record.pk), robust=True)
    except IntegrityError:
        return StripeEventRecord.objects.get(stripe_event_id=event["id"]), False
    return record, True


def _reject(trigger: WebhookEventTrigger, message: str) -> HttpResponse:
    trigger.valid = False
    trigger.exception = message[:128]
    trigger.save(update_fields=["valid", "exception", "updated"])
    return _refuse(400, message)


@csrf_exempt
def stripe_webhook(request, uuid):
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
    trigger = WebhookEventTrigger.objects.create(
        remote_ip=get_remote_ip(request),
        headers=dict(request.headers),
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
    record, created = record_once(event, trigger)
    trigger.valid = True
    trigger.save(update_fields=["valid", "updated"])
    return JsonResponse({"received": record.stripe_event_id, "duplicate": not created})
