"""The rows of one connection that a unit of work holds in memory, for the ledger session
and the catalogue alike.

Per table, a cache keeps the rows read or made by their Stripe id (``None``: looked for,
not stored) and the rows changed since the last :meth:`RowCache.flush`, which writes them
with one upsert per table (``ledger/upsert.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Protocol, TypeVar

from django.db.models import Model, Q

from .upsert import write_rows

#: SQLite allows 32,766 variables a statement (999 before 3.32): stay well below.
CHUNK = 500

Row = TypeVar("Row", bound=Model)


def chunks(values: list[str]) -> Iterator[list[str]]:
    """``values`` in slices of at most ``CHUNK``."""
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


class Observer(Protocol):
    """Told of every row that enters the cache and of every change (the ledger's journal)."""

    def entered(self, row: Model) -> None: ...

    def changed(self, row: Model) -> None: ...


class RowCache:
    """Rows of the tables ``key_fields`` names (model → its Stripe id column) of one
    connected account and mode.

    ``write_new_rows``: a row made by :meth:`get_or_new` counts as changed at once (the
    ledger's placeholders are stored even when nothing is set on them), else only once
    :meth:`changed` says so (the catalogue keeps only what a newer object set).
    """

    def __init__(
        self,
        stripe_account_id: str,
        livemode: bool,
        key_fields: dict[type[Model], str],
        *,
        write_new_rows: bool,
    ) -> None:
        #: The columns that scope every query to the connected account and mode.
        self.scope = {"stripe_account_id": stripe_account_id, "livemode": livemode}
        self.key_fields = key_fields
        self.write_new_rows = write_new_rows
        self.rows: dict[type[Model], dict[str, Model | None]] = {m: {} for m in key_fields}
        self.dirty: dict[type[Model], dict[str, Model]] = {m: {} for m in key_fields}
        #: Told of rows read and rows changed (None: nobody listens).
        self.observer: Observer | None = None

    def remember(self, rows: Iterable[Model]) -> None:
        """Keep rows just read, never replacing one held already (it may be changed)."""
        for row in rows:
            model = type(row)
            key = getattr(row, self.key_fields[model])
            if self.rows[model].get(key) is None:
                self.rows[model][key] = row
                if self.observer is not None:
                    self.observer.entered(row)

    def load(self, model: type[Row], where: Q) -> list[Row]:
        """Read the rows of ``model`` that ``where`` selects, and keep them."""
        rows = list(model._default_manager.filter(where, **self.scope))
        self.remember(rows)
        return rows

    def load_keys(self, model: type[Model], keys: list[str]) -> None:
        """Read the rows of these Stripe ids (``CHUNK`` at a time); an id not stored is
        remembered as such."""
        key_field = self.key_fields[model]
        for chunk in chunks(keys):
            self.load(model, Q(**{f"{key_field}__in": chunk}))
        for key in keys:
            self.rows[model].setdefault(key, None)

    def get(self, model: type[Row], key: str) -> Row | None:
        """The row of a Stripe id: held, else read (one query) and held."""
        rows = self.rows[model]
        if key not in rows:
            where = {self.key_fields[model]: key}
            rows[key] = found = model._default_manager.filter(**self.scope, **where).first()
            if found is not None and self.observer is not None:
                self.observer.entered(found)
        return rows[key]  # type: ignore[return-value]

    def get_or_new(self, model: type[Row], key: str) -> Row:
        """The row of a Stripe id, made (unsaved) when none is stored."""
        row = self.get(model, key)
        if row is None:
            row = model(**self.scope, **{self.key_fields[model]: key})
            self.rows[model][key] = row
            if self.write_new_rows:
                self.changed(row)
        return row

    def changed(self, row: Model) -> None:
        """``row`` is to be written at the next flush."""
        model = type(row)
        self.dirty[model][getattr(row, self.key_fields[model])] = row
        if self.observer is not None:
            self.observer.changed(row)

    def all_rows(self) -> Iterator[Model]:
        """Every row held (read or made), table by table."""
        for rows in self.rows.values():
            yield from (row for row in rows.values() if row is not None)

    def flush(self, now: datetime) -> None:
        """Write every changed row, stamped ``now``: one upsert per table, in the order of
        ``key_fields``."""
        for model, key_field in self.key_fields.items():
            dirty = list(self.dirty[model].values())
            self.dirty[model] = {}
            write_rows(model, dirty, key_field, now)
