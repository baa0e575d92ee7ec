"""Making sure the Connect webhook endpoint exists, locally or at Stripe too."""

from __future__ import annotations

import secrets
import uuid as uuid_lib
from typing import Any, cast

from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from djstripe.models import WebhookEndpoint

from .. import stripe_clients
from ..conf import app_settings
from ..translators.registry import registry
from .verification import store_secret


def endpoint_path(endpoint_uuid: uuid_lib.UUID | str) -> str:
    """The receiving path of an endpoint (``/stripe/webhook/<uuid>/``)."""
    return reverse("bento_stripe:webhook", kwargs={"uuid": endpoint_uuid})


#: Ids of endpoints that exist only in this database (``--local``); Stripe's start ``we_``.
LOCAL_PREFIX = "we_local_"


def _for_url(base_url: str) -> QuerySet[WebhookEndpoint]:
    prefix = base_url.rstrip("/") + "/stripe/webhook/"
    return WebhookEndpoint.objects.filter(url__startswith=prefix).order_by("-djstripe_id")


def _find(base_url: str, livemode: bool) -> WebhookEndpoint | None:
    return _for_url(base_url).filter(livemode=livemode).first()


def made_at_stripe(base_url: str) -> WebhookEndpoint | None:
    """The newest endpoint Stripe made for ``base_url`` (either mode), if any."""
    return _for_url(base_url).exclude(id__startswith=LOCAL_PREFIX).first()


@sensitive_variables("secret")
def ensure_local(base_url: str, secret: str | None, *, livemode: bool = False) -> WebhookEndpoint:
    """An endpoint in the database only (development and tests), with ``secret`` encrypted.

    ValueError when Stripe made an endpoint for ``base_url``: that one is never touched.
    """
    with transaction.atomic():
        stripes = made_at_stripe(base_url)
        if stripes is not None:
            # Its secret is Stripe's: replacing it with a loosely kept one (what
            # `stripe listen` prints, or a demo's) would let anyone who has that one sign.
            raise ValueError(
                f"Stripe made the endpoint {stripes.id} for {base_url}: --local never changes "
                "an endpoint Stripe made. Use another base URL for a local endpoint."
            )
        endpoint = _find(base_url, livemode)
        if endpoint is None:
            if not secret:
                raise ValueError(
                    "A new local endpoint needs its signing secret (--secret whsec_...)."
                )
            endpoint_uuid = uuid_lib.uuid4()
            endpoint = WebhookEndpoint(
                id=f"{LOCAL_PREFIX}{secrets.token_hex(12)}",
                djstripe_uuid=endpoint_uuid,
                livemode=livemode,
                created=timezone.now(),
                api_version="",
                enabled_events=registry.handled_types(),
                status="enabled",
                url=base_url.rstrip("/") + endpoint_path(endpoint_uuid),
                metadata={"djstripe_uuid": str(endpoint_uuid)},
                djstripe_tolerance=app_settings.WEBHOOK_TOLERANCE,
            )
        if secret:
            store_secret(endpoint, secret)
        endpoint.save()
    return endpoint


@sensitive_variables("created")
def ensure_at_stripe(base_url: str, *, livemode: bool) -> WebhookEndpoint:
    """An endpoint at Stripe (``connect=True``, the handled event types), stored here too."""
    existing = _find(base_url, livemode)
    if existing is not None and not existing.id.startswith(LOCAL_PREFIX):
        return existing
    endpoint_uuid = uuid_lib.uuid4()
    url = base_url.rstrip("/") + endpoint_path(endpoint_uuid)
    client = stripe_clients.platform(retries=2)
    created = client.v1.webhook_endpoints.create(
        {
            "url": url,
            "connect": True,
            # Stripe's params list every known type as a literal; ours are plain strings.
            "enabled_events": cast("list[Any]", registry.handled_types()),
            "description": "bento-stripe Connect endpoint",
            "metadata": {"djstripe_uuid": str(endpoint_uuid)},
        }
    ).to_dict()
    endpoint = WebhookEndpoint(
        id=created["id"],
        djstripe_uuid=endpoint_uuid,
        livemode=bool(created.get("livemode")),
        created=timezone.now(),
        api_version=created.get("api_version") or "",
        enabled_events=created.get("enabled_events") or registry.handled_types(),
        status=created.get("status") or "enabled",
        url=created.get("url") or url,
        application=created.get("application") or "",
        metadata=created.get("metadata") or {},
        djstripe_tolerance=app_settings.WEBHOOK_TOLERANCE,
    )
    store_secret(endpoint, created["secret"])
    endpoint.save()
    return endpoint
