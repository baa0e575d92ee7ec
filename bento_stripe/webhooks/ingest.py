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
  ``insert_event`` is the webhook's form of it: the statement is built once per database
  vendor and the values straight from the verified event, without a model instance.
* Django's per-request health check (``CONN_HEALTH_CHECKS``: a ``SELECT 1`` before the
  first query of a request on a kept connection) would be a second round trip: outside a
  transaction the INSERT itself is the check. If the kept connection turns out dead, it is
  closed and the INSERT sent once more on a new one (the statement is idempotent: a row
  stored by the failed attempt makes the second one a duplicate).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import InterfaceError, OperationalError, connection, models
from django.db.models import Field
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
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


#: The model's fields the webhook fills from the event (``insert_event``); every other
#: column gets its default.
EVENT_FIELDS = (
    "stripe_event_id",
    "event_type",
    "stripe_account_id",
    "livemode",
    "created",
    "api_version",
    "payload",
    "trigger_id",
)


@dataclass(frozen=True)
class _Statement:
    """The INSERT of one database vendor, and how each of its values is made."""

    sql: str
    fields: tuple[Field, ...]
    #: Per column: the prepared constant default, or None (given, or made per call).
    constants: tuple[object, ...]
    #: Per column: whether the value is made per call (a callable default, ``auto_now_add``).
    per_call: tuple[bool, ...]
    #: Per column: whether a given value goes to the driver as it is (a str, int or bool
    #: of a field whose preparation returns it unchanged); else ``get_db_prep_save``.
    plain: tuple[bool, ...]


_statements: dict[str, _Statement] = {}


#: Field classes (exactly these, no subclass) whose preparation of a str, int or bool
#: returns it unchanged.
_PLAIN_FIELDS = (
    models.CharField,
    models.TextField,
    models.BooleanField,
    models.IntegerField,
    models.BigIntegerField,
    models.PositiveIntegerField,
)


def _auto_now(field: Field) -> bool:
    return bool(getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False))


def _statement() -> _Statement:
    vendor = connection.vendor
    statement = _statements.get(vendor)
    if statement is not None:
        return statement
    meta = StripeEventRecord._meta
    fields = tuple(f for f in meta.concrete_fields if not f.primary_key)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    dedupe = quote(str(meta.get_field("stripe_event_id").column))
    pk = quote(str(meta.pk.column if meta.pk else "id"))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks}) "  # noqa: S608 - names from the model
        f"ON CONFLICT ({dedupe}) DO NOTHING RETURNING {pk}"
    )
    per_call = tuple(
        f.attname not in EVENT_FIELDS
        and (_auto_now(f) or (f.has_default() and callable(f.default)))
        for f in fields
    )
    constants = tuple(
        None
        if f.attname in EVENT_FIELDS or made
        else f.get_db_prep_save(f.get_default(), connection)
        for f, made in zip(fields, per_call, strict=True)
    )
    plain = tuple(type(f) in _PLAIN_FIELDS for f in fields)
    statement = _Statement(
        sql=sql, fields=fields, constants=constants, per_call=per_call, plain=plain
    )
    _statements[vendor] = statement
    return statement


def _insert(sql: str, values: list) -> int | None:
    """Run the INSERT ... RETURNING; the new row's id, or None (a duplicate).

    Outside a transaction the statement stands in for Django's per-request health check
    of a kept connection (module docstring): one round trip, not two.
    """
    db: Any = connection  # health_check_* are attributes of every backend, not typed
    lazy_check = (
        db.connection is not None
        and db.health_check_enabled
        and not db.health_check_done
        and not db.in_atomic_block
    )
    if lazy_check:
        db.health_check_done = True
    try:
        with db.cursor() as cursor:
            cursor.execute(sql, values)
            row = cursor.fetchone()
    except (InterfaceError, OperationalError):
        if not lazy_check or db.is_usable():
            raise
        db.close()  # the kept connection was dead: the next cursor opens a new one
        with db.cursor() as cursor:
            cursor.execute(sql, values)
            row = cursor.fetchone()
    return None if row is None else row[0]


def insert_event(event: dict, trigger_id: int | None = None) -> bool:
    """Store a verified event (``parse_event``) once; returns whether it was new."""
    statement = _statement()
    given = {
        "stripe_event_id": event["id"],
        "event_type": event["type"],
        "stripe_account_id": event.get("account") or "",
        "livemode": bool(event.get("livemode")),
        "created": event["created"],
        "api_version": str(event.get("api_version") or "")[:64],
        "payload": event,
        "trigger_id": trigger_id,
    }
    values: list = []
    for field, constant, made, plain in zip(
        statement.fields, statement.constants, statement.per_call, statement.plain, strict=True
    ):
        if made:
            value = timezone.now() if _auto_now(field) else field.get_default()
            values.append(field.get_db_prep_save(value, connection))
        elif field.attname in given:
            value = given[field.attname]
            values.append(value if plain else field.get_db_prep_save(value, connection))
        else:
            values.append(constant)
    return _insert(statement.sql, values) is not None


def insert_once(record: StripeEventRecord) -> bool:
    """INSERT the record unless its Stripe event id is stored; returns whether it was new."""
    statement = _statement()
    values = [f.get_db_prep_save(f.pre_save(record, True), connection) for f in statement.fields]
    pk = _insert(statement.sql, values)
    if pk is None:
        return False
    record.pk = pk
    record._state.adding = False
    return True
