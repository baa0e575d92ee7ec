"""The Connect webhook endpoint: verify, record once, answer fast; processing is elsewhere."""

from __future__ import annotations

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
from ..models import StripeEventRecord
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

    One INSERT ... ON CONFLICT DO NOTHING (``ingest.insert_once``); the stored row is the
    work queue's entry, and a worker is woken after commit (at most once per interval
    across processes, see ``queue.wake_processing``).
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
    if not ingest.insert_once(record):  # INSERT ... ON CONFLICT DO NOTHING RETURNING id
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
    if not request.headers.get("Stripe-Signature"):
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
    # The trigger is dj-stripe's audit row. It is saved for a refused request (the log of
    # refusals, with at most UNVERIFIED_BODY_CHARS of a body nobody signed); a verified
    # event costs one INSERT, its record, unless KEEP_WEBHOOK_TRIGGERS keeps every request.
    header = request.headers["Stripe-Signature"]
    trigger = WebhookEventTrigger(
        remote_ip=client_ip(request),
        headers={
            k: _storable(v, HEADER_VALUE_CHARS)
            for k, v in request.headers.items()
            if k.lower() not in PRIVATE_HEADERS
        },
        body=body,  # made storable only when the trigger is saved
        webhook_endpoint=endpoint,
    )
    if cached is None:
        assert problem is not None  # noqa: S101 - the endpoint exists: its secret failed
        return _unavailable(trigger, problem)
    djstripe_signals.webhook_pre_validate.send(sender=WebhookEventTrigger, instance=trigger)
    refusal = verification.signature_refusal(body, header, cached.secret, cached.tolerance)
    djstripe_signals.webhook_post_validate.send(
        sender=WebhookEventTrigger, instance=trigger, valid=not refusal
    )
    if refusal:
        trigger.body = _storable(body, UNVERIFIED_BODY_CHARS)
        return _reject(trigger, refusal)
    try:
        event = verification.parse_event(body)
    except InvalidWebhook as exc:
        return _reject(trigger, str(exc))
    refusal = verification.mode_refusal(endpoint, event)
    if refusal:
        return _reject(trigger, refusal)
    kept = None
    if app_settings.KEEP_WEBHOOK_TRIGGERS:
        trigger.body = _storable(body)
        trigger.valid = True
        trigger.save()
        kept = trigger
    created = record_once(event, kept)
    return JsonResponse({"received": event["id"], "duplicate": not created})
