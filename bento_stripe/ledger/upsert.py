"""Writing changed rows of the per-connection tables (ledger and catalogue) in bulk."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connections
from django.db.models import Field, JSONField, Model
from django.db.models.base import ModelState

#: The columns that, with a table's own Stripe id, identify a row of a connection.
SCOPE = ("stripe_account_id", "livemode")


def _unsaved(row: Any) -> Any:
    """A copy of a stored row, as if new (the upsert matches it on its Stripe id and the
    stored row keeps its primary key)."""
    clone = copy.copy(row)
    clone.pk = None
    clone._state = ModelState()
    return clone


def write_rows(model: type[Model], rows: Sequence[Any], key: str, now: datetime) -> None:
    """Write ``rows`` of ``model``, stamped ``now``, in one upsert on (account, mode,
    ``key``): rows made and rows read alike (``bulk_update``'s CASE per row and column
    cost more than the rest of a backfill page)."""
    if not rows:
        return
    for row in rows:
        row.updated_at = now
    columns = [
        f.name
        for f in model._meta.concrete_fields
        if not f.primary_key and f.name not in (*SCOPE, key)
    ]
    upsert(model, rows, unique=[*SCOPE, key], update=columns)


def upsert(
    model: type[Model], rows: Sequence[Model], *, unique: list[str], update: list[str]
) -> None:
    """``INSERT ... ON CONFLICT (unique) DO UPDATE SET update`` of ``rows`` in one
    statement (rows read are written through copies; their stored primary key stays)."""
    if not rows:
        return
    manager = model._default_manager
    connection = connections[manager.db]
    if connection.vendor != "postgresql":
        manager.bulk_create(
            [row if row.pk is None else _unsaved(row) for row in rows],
            update_conflicts=True,
            unique_fields=unique,
            update_fields=update,
        )
        return
    column = _columns(model, connection)
    sets = ", ".join(f"{column[name]} = EXCLUDED.{column[name]}" for name in update)
    target = ", ".join(column[name] for name in unique)
    _pg_insert(model, rows, connection, f"ON CONFLICT ({target}) DO UPDATE SET {sets}")


def insert_new(model: type[Model], rows: Sequence[Model]) -> None:
    """Insert ``rows`` in one statement, leaving out any that a unique constraint refuses
    (``bulk_create(ignore_conflicts=True)``; the rows get no primary key)."""
    if not rows:
        return
    manager = model._default_manager
    connection = connections[manager.db]
    if connection.vendor != "postgresql":
        manager.bulk_create(rows, ignore_conflicts=True)
        return
    _pg_insert(model, rows, connection, "ON CONFLICT DO NOTHING")


def _fields(model: type[Model]) -> list[Field]:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def _columns(model: type[Model], connection: Any) -> dict[str, str]:
    quote = connection.ops.quote_name
    return {f.name: quote(str(f.column)) for f in _fields(model)}


def _pg_insert(model: type[Model], rows: Sequence[Model], connection: Any, conflict: str) -> None:
    """On PostgreSQL the rows go as one JSON parameter, unpacked by the server
    (``jsonb_array_elements``), in their order: Django's ``bulk_create`` makes one array
    per column, which psycopg's client-side binding (Django's default) quotes element by
    element, and that cost more than the statement itself on a backfill's unit of 500
    objects."""
    fields = _fields(model)
    column = _columns(model, connection)
    values = []
    for n, f in enumerate(fields):
        if isinstance(f, JSONField):
            # A JSON null element is SQL NULL (what Django stores for None).
            values.append(f"NULLIF(e.value->{n}, 'null'::jsonb)")
        else:
            # Without its length (varchar, not varchar(255)): a cast would cut a value
            # too long, the column refuses it. A foreign key's type is its target's.
            values.append(f"(e.value->>{n})::{str(f.db_type(connection)).split('(')[0]}")
    table = connection.ops.quote_name(model._meta.db_table)
    # Only names of the model's own table and columns, quoted; the rows are a parameter.
    sql = (
        f"INSERT INTO {table} ({', '.join(column[f.name] for f in fields)}) "  # noqa: S608
        f"SELECT {', '.join(values)} "
        "FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS e(value, n) ORDER BY e.n "
        f"{conflict}"
    )
    stamped = [
        f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    plain = [f.attname for f in fields]
    records = []
    for row in rows:
        for f in stamped:
            f.pre_save(row, True)  # as bulk_create does: the time of the write
        records.append([_json_value(getattr(row, name)) for name in plain])
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(records, default=_encode, separators=(",", ":"))])


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _encode(value: Any) -> Any:
    """What json cannot write fails, as Django's JSONField (no encoder) fails on it."""
    raise TypeError(f"{type(value).__name__} is not JSON serializable: {value!r}")
