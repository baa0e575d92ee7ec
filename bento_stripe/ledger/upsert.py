"""Writing changed rows of the per-connection tables (ledger and catalogue) in bulk."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import Model
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
    ``key``): rows made and rows read alike (``bulk_update``'s CASE per row and column cost
    more than the rest of a backfill page); rows read are written through copies."""
    if not rows:
        return
    for row in rows:
        row.updated_at = now
    columns = [
        f.name
        for f in model._meta.concrete_fields
        if not f.primary_key and f.name not in (*SCOPE, key)
    ]
    model._default_manager.bulk_create(
        [row if row.pk is None else _unsaved(row) for row in rows],
        update_conflicts=True,
        unique_fields=[*SCOPE, key],
        update_fields=columns,
    )
