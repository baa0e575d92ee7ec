"""Writing changed rows of the per-connection tables (ledger and catalogue) in bulk."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
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
    statement (rows read are written through copies; their stored primary key stays).

    On PostgreSQL the rows go as one JSON parameter, unpacked by the server
    (``jsonb_array_elements``): Django's ``bulk_create`` makes one array per column,
    which psycopg's client-side binding (Django's default) quotes element by element, and
    that cost more than the statement itself on a backfill's unit of 500 objects.
    """
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
    meta = model._meta
    fields: list[Field] = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    column = {f.name: quote(str(f.column)) for f in fields}
    columns, values = [], []
    for n, f in enumerate(fields):
        columns.append(column[f.name])
        if isinstance(f, JSONField):
            # A JSON null element is SQL NULL (what Django stores for None).
            values.append(f"NULLIF(e->{n}, 'null'::jsonb)")
        else:
            # Without its length (varchar, not varchar(255)): a cast would cut a value
            # too long, the column refuses it. A foreign key's type is its target's.
            values.append(f"(e->>{n})::{str(f.db_type(connection)).split('(')[0]}")
    sets = ", ".join(f"{column[name]} = EXCLUDED.{column[name]}" for name in update)
    # Only names of the model's own table and columns, quoted; the rows are a parameter.
    target = ", ".join(column[name] for name in unique)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(values)} FROM jsonb_array_elements(%s::jsonb) AS e "
        f"ON CONFLICT ({target}) "
        f"DO UPDATE SET {sets}"
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
    """Values json cannot write: exact decimals as strings (the column casts them)."""
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be written to the ledger: {value!r}")
