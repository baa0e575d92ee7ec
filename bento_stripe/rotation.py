"""Re-encrypting every stored secret under the first of ``ENCRYPTION_KEYS`` (key rotation).

The encrypted columns: every ``EncryptedTextField`` of every installed model (Bento
secret keys, access tokens, also on swapped Team/Site models) and dj-stripe's
``WebhookEndpoint.secret``, where the app keeps its ciphertext. Rows are read and
written as stored (raw SQL: the field would decrypt on read and encrypt on write), and
each write only replaces the ciphertext it read, so a value saved meanwhile is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.db import connections, models, router, transaction

from . import crypto
from .fields import EncryptedTextField


@dataclass
class ColumnReport:
    """What rotating one column did."""

    label: str
    #: Values now under the first key (written again, or would be with ``dry_run``).
    rotated: int = 0
    #: Of those, values that were under an older key before.
    from_older_key: int = 0
    #: Values no configured key decrypts: still under a key that was removed.
    undecryptable: int = 0
    #: Values not stored as ciphertext at all (left alone).
    not_encrypted: int = 0


def encrypted_columns() -> Iterator[tuple[type[models.Model], str]]:
    """Each (model, field name) that holds ciphertext written by :mod:`bento_stripe.crypto`."""
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field.name
    from djstripe.models import WebhookEndpoint

    yield WebhookEndpoint, "secret"


def rotate_column(model: type[models.Model], name: str, *, dry_run: bool = False) -> ColumnReport:
    """Re-encrypt every value of ``model.name`` under the first key."""
    opts = model._meta
    field = opts.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{opts.label}.{name} is not a concrete field.")
    report = ColumnReport(f"{opts.label}.{name}")
    alias = router.db_for_write(model)
    connection = connections[alias]
    quote = connection.ops.quote_name
    table = quote(opts.db_table)
    column, pk = quote(str(field.column)), quote(str(opts.pk.column))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {pk}, {column} FROM {table} WHERE {column} <> ''")  # noqa: S608
        rows = cursor.fetchall()
    for key, stored in rows:
        if not stored:
            continue
        if not stored.startswith(crypto.PREFIX):
            report.not_encrypted += 1
            continue
        try:
            older = not crypto.under_first_key(stored)
            fresh = crypto.rotate(stored)
        except (InvalidToken, ValueError):
            report.undecryptable += 1
            continue
        report.rotated += 1
        report.from_older_key += older
        if dry_run:
            continue
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {column} = %s WHERE {pk} = %s AND {column} = %s",  # noqa: S608
                [fresh, key, stored],
            )
    return report


def rotate_all(*, dry_run: bool = False) -> list[ColumnReport]:
    """Rotate every encrypted column; one report per column."""
    return [rotate_column(model, name, dry_run=dry_run) for model, name in encrypted_columns()]
