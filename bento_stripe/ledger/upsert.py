"""Writing changed rows of the per-connection tables (ledger and catalogue) in bulk."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import Model

#: The columns that, with a table's own Stripe id, identify a row of a connection.
SCOPE = ("stripe_account_id", "livemode")


def write_rows(model: type[Model], rows: Sequence[Any], key: str, now: datetime) -> None:
    """Write ``rows`` of ``model``, stamped ``now``: new ones in one upsert on (account,
    mode, ``key``), known ones in one bulk update of every other column."""
    if not rows:
        return
    for row in rows:
        row.updated_at = now
    columns = [
        f.name
        for f in model._meta.concrete_fields
        if not f.primary_key and f.name not in (*SCOPE, key)
    ]
    new = [row for row in rows if row.pk is None]
    old = [row for row in rows if row.pk is not None]
    if new:
        model._default_manager.bulk_create(
            new, update_conflicts=True, unique_fields=[*SCOPE, key], update_fields=columns
        )
    if old:
        model._default_manager.bulk_update(old, columns)
