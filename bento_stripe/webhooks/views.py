"""The Connect webhook endpoint: verify, record once, answer fast; processing is elsewhere."""

from __future__ import annotations

import json
from uuid import UUID

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from djstripe import signals as djstripe_signals
from djstripe.models import WebhookEndpoint, WebhookEventTrigger

from .. import queue
from ..conf import app_settings
from ..exceptions import EncryptionKeyError, InvalidWebhook
from ..logs import get_logger
from . import ingest, verification
from .client_ip import client_ip

logger = get_logger(__name__)


#: Request headers never kept in the audit log (Stripe sends none of them).
PRIVATE_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
#: Characters kept of the body of a request whose signature is refused (anyone can send
#: one: the audit log must not become free storage), and of each kept header value.
UNVERIFIED_BODY_CHARS = 4096
HEADER_VALUE_CHARS = 1024


def _refuse(status: int, message: str) -> HttpResponse:
    return JsonResponse({"error": message}, status=status)


def record_once(event: dict, trigger: WebhookEventTrigger | None = None) -> bool:
    """Store the event under its Stripe id unless it is already stored (also concurrently).

    One INSERT ... ON CONFLICT DO NOTHING (``ingest.insert_event``); the stored row is the
    work queue's entry, and a worker is woken after commit (at most once per interval
    across processes, see ``queue.wake_processing``).
    Returns whether the event is new.
    """
    if not ingest.insert_event(event, trigger.pk if trigger is not None else None):
        return False
    # robust: a broker hiccup must not turn a recorded event into a 500 (the sweep wakes
    # a worker within a minute).
    queue.wake_processing_on_commit()
    return True


def _storable(text: str, limit: int | None = None) -> str:
    """``text`` cut to ``limit`` characters, without NUL (no database text column takes it)."""
    return text[:limit].replace("\x00", "\ufffd")


def _reject(trigger: WebhookEventTrigger, message: str) -> HttpResponse:
    """Keep the refused request as an invalid trigger, log one line, answer 400."""
    trigger.valid = False
    trigger.exception = message[:128]
    trigger.body = _storable(trigger.body)
    trigger.save()
    endpoint = trigger.webhook_endpoint
    logger.warning(
        "Refused a Stripe webhook for endpoint %s from %s: %s",
        endpoint.djstripe_uuid if endpoint else "?",
        trigger.remote_ip,
        message,
        endpoint=endpoint.djstripe_uuid if endpoint else "",
    )
    response = _refuse(400, message)
    # The line above says it all: spare django.request its "Bad Request" line
    # (``django.utils.log.log_response`` skips responses marked this way).
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _unavailable(trigger: WebhookEventTrigger, problem: EncryptionKeyError) -> HttpResponse:
    """503 for an endpoint whose secret no configured key decrypts: Stripe retries later.

    One log line naming the setting, no traceback; the refused trigger shows it in the
    admin too (dj-stripe's webhook event triggers).
    """
    trigger.valid = False
    trigger.exception = "Endpoint secret undecryptable: check BENTO_STRIPE['ENCRYPTION_KEYS']."
    trigger.body = _storable(trigger.body, UNVERIFIED_BODY_CHARS)
    trigger.save()
    logger.error(
        "Cannot verify Stripe webhooks for endpoint %s (answered 503, Stripe retries): %s",
        trigger.webhook_endpoint.djstripe_uuid if trigger.webhook_endpoint else "?",
        problem,
        endpoint=trigger.webhook_endpoint.djstripe_uuid if trigger.webhook_endpoint else "",
    )
    response = _refuse(503, "Temporarily unable to verify webhooks.")
    response._has_been_logged = True  # type: ignore[attr-defined]  # the line above says it
    return response


# Stripe signs its requests and never logs in: a project with Django's
# LoginRequiredMiddleware must not send it to the login page.
@login_not_required
@csrf_exempt
def stripe_webhook(request: HttpRequest, uuid: UUID) -> HttpResponse:
    """Receive one Stripe event for the endpoint ``uuid`` (statuses as docs/how-it-works.rst says)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    limit = app_settings.WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _refuse(400, "Bad Content-Length.")
    if declared > limit:
        return _refuse(413, "Body too large.")
    header = request.META.get("HTTP_STRIPE_SIGNATURE", "")
    if not header:
        return _refuse(400, "Missing Stripe-Signature header.")
    try:
        cached = ingest.cached_endpoint(uuid)  # per process: no query on most requests
        problem = None
    except EncryptionKeyError as exc:
        cached, problem = None, exc
    endpoint = (
        cached.endpoint
        if cached is not None
        else WebhookEndpoint.objects.filter(djstripe_uuid=uuid).first()
    )
    if endpoint is None:
        return _refuse(404, "Unknown webhook endpoint.")
    raw = request.read(limit + 1)
    if len(raw) > limit:
        return _refuse(413, "Body too large.")
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _refuse(400, "The body is not UTF-8.")
    if cached is None:
        assert problem is not None  # noqa: S101 - the endpoint exists: its secret failed
        return _unavailable(_trigger(request, endpoint, body), problem)
    # The trigger is dj-stripe's audit row, built only when something needs it: a refusal
    # (saved, the log of refusals, with at most UNVERIFIED_BODY_CHARS of a body nobody
    # signed), KEEP_WEBHOOK_TRIGGERS, or a receiver of dj-stripe's validation signals. A
    # verified event otherwise costs one INSERT, its record, and no model instance.
    trigger = (
        _trigger(request, endpoint, body)
        if _VALIDATE_SIGNALS[0].has_listeners(WebhookEventTrigger)
        or _VALIDATE_SIGNALS[1].has_listeners(WebhookEventTrigger)
        else None
    )
    if trigger is not None:
        djstripe_signals.webhook_pre_validate.send(sender=WebhookEventTrigger, instance=trigger)
    refusal = verification.signature_refusal(body, header, cached.secret, cached.tolerance)
    if trigger is not None:
        djstripe_signals.webhook_post_validate.send(
            sender=WebhookEventTrigger, instance=trigger, valid=not refusal
        )
    if refusal:
        trigger = trigger or _trigger(request, endpoint, body)
        trigger.body = _storable(body, UNVERIFIED_BODY_CHARS)
        return _reject(trigger, refusal)
    try:
        event = verification.parse_event(body)
    except InvalidWebhook as exc:
        return _reject(trigger or _trigger(request, endpoint, body), str(exc))
    refusal = verification.mode_refusal(endpoint, event)
    if refusal:
        return _reject(trigger or _trigger(request, endpoint, body), refusal)
    kept = None
    if app_settings.KEEP_WEBHOOK_TRIGGERS:
        kept = trigger or _trigger(request, endpoint, body)
        kept.body = _storable(body)
        kept.valid = True
        kept.save()
    created = record_once(event, kept)
    return HttpResponse(
        json.dumps({"received": event["id"], "duplicate": not created}),
        content_type="application/json",
    )


#: dj-stripe's signals around the signature check (sent when something listens).
_VALIDATE_SIGNALS = (djstripe_signals.webhook_pre_validate, djstripe_signals.webhook_post_validate)


def _trigger(request: HttpRequest, endpoint: WebhookEndpoint, body: str) -> WebhookEventTrigger:
    """The request as dj-stripe's audit row, unsaved (its body made storable when saved)."""
    return WebhookEventTrigger(
        remote_ip=client_ip(request),
        headers={
            k: _storable(v, HEADER_VALUE_CHARS)
            for k, v in request.headers.items()
            if k.lower() not in PRIVATE_HEADERS
        },
        body=body,
        webhook_endpoint=endpoint,
    )
