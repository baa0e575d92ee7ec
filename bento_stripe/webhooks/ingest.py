"""The thin ingest: what a verified webhook costs the database (one round trip).

* ``cached_endpoint``: the endpoint of a receiving URL and its decrypted signing secret,
  kept per process for ``ENDPOINT_CACHE_SECONDS`` so that a request reads nothing. Saving
  or deleting an endpoint (a new secret, an endpoint removed at disconnect) drops the
  entry at once in the process that did it (Django's ``post_save``/``post_delete`` of
  dj-stripe's model); other processes see the change within the cache's seconds. Stripe
  signs with the old and the new secret while a secret rolls, so no event is refused in
  between.
* ``insert_once``: one ``INSERT ... ON CONFLICT (stripe_event_id) DO NOTHING RETURNING
  id`` of the event record: the unique Stripe event id is the dedupe key, a replayed or
  concurrent duplicate inserts nothing and is told apart by the empty ``RETURNING``. No
  savepoint is needed inside a host's ``ATOMIC_REQUESTS`` transaction: nothing fails.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from uuid import UUID

from django.db import connection
from django.db.models.signals import post_delete, post_save
from djstripe.models import WebhookEndpoint

from ..conf import app_settings
from ..models import StripeEventRecord
from . import verification


@dataclass(frozen=True)
class CachedEndpoint:
    """An endpoint as the webhook needs it (its model row, kept read-only) and its secret."""

    endpoint: WebhookEndpoint
    secret: str
    tolerance: int
    loaded_at: float


_cache: dict[UUID, CachedEndpoint] = {}
_lock = threading.Lock()


def cached_endpoint(uuid: UUID) -> CachedEndpoint | None:
    """The endpoint at ``uuid`` with its decrypted secret (None: no such endpoint).

    ``crypto``'s EncryptionKeyError propagates (the view answers 503); nothing is cached then.
    """
    ttl = app_settings.ENDPOINT_CACHE_SECONDS
    now = time.monotonic()
    entry = _cache.get(uuid)
    if entry is not None and now - entry.loaded_at < ttl:
        return entry
    endpoint = WebhookEndpoint.objects.filter(djstripe_uuid=uuid).first()
    if endpoint is None:
        with _lock:
            _cache.pop(uuid, None)
        return None
    entry = CachedEndpoint(
        endpoint=endpoint,
        secret=verification.endpoint_secret(endpoint),
        tolerance=verification.tolerance(endpoint),
        loaded_at=now,
    )
    if ttl > 0:
        with _lock:
            _cache[uuid] = entry
    return entry


def forget(uuid: UUID | None = None) -> None:
    """Drop one endpoint's entry (all with None)."""
    with _lock:
        if uuid is None:
            _cache.clear()
        else:
            _cache.pop(uuid, None)


def _endpoint_changed(sender: type, instance: WebhookEndpoint, **kwargs: object) -> None:
    if instance.djstripe_uuid:
        forget(UUID(str(instance.djstripe_uuid)))


post_save.connect(_endpoint_changed, sender=WebhookEndpoint, dispatch_uid="bento_stripe.ingest")
post_delete.connect(_endpoint_changed, sender=WebhookEndpoint, dispatch_uid="bento_stripe.ingest")


def insert_once(record: StripeEventRecord) -> bool:
    """INSERT the record unless its Stripe event id is stored; returns whether it was new."""
    meta = StripeEventRecord._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(record, True), connection) for f in fields]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = ", ".join(quote(str(f.column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    dedupe = quote(str(meta.get_field("stripe_event_id").column))
    pk = quote(str(meta.pk.column if meta.pk else "id"))
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES ({marks}) "  # noqa: S608 - names from the model
        f"ON CONFLICT ({dedupe}) DO NOTHING RETURNING {pk}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    record.pk = row[0]
    record._state.adding = False
    return True
