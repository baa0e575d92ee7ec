"""What a unit of work's ledger rows were after each of its events, in memory.

A batch applies many events to one session and writes the rows once at the end, so the
database only ever sees the state before the batch and after it. ``$MrrChanged`` is per
event (docs/reference/events.rst): when two events of one batch each move a person's MRR,
each needs the person's MRR right after it. The journal keeps, for every row the session
holds, the values the fields depend on as the row entered memory and after each event
that changed it (:meth:`Journal.step`); :func:`person_at` rebuilds a person as of one
event from those and the rows the session never held (which the batch did not change).
No query: everything is in memory already.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import Model

from ..models import LedgerCharge, LedgerCustomer, LedgerSubscription
from ..models.ledger import LedgerRow
from .parse import subscription_from_data
from .shapes import Charge, Customer, Person, Subscription

#: The tables a person's fields are computed from (disputes only lower lifetime value).
TABLES: tuple[type[LedgerRow], ...] = (LedgerCustomer, LedgerCharge, LedgerSubscription)
_KEY = {
    LedgerCustomer: "customer_id",
    LedgerCharge: "charge_id",
    LedgerSubscription: "subscription_id",
}
#: The columns of each table the fields read (besides the key and the email).
_COLUMNS: dict[type[LedgerRow], tuple[str, ...]] = {
    LedgerCustomer: ("created", "currency", "deleted", "data"),
    LedgerCharge: ("currency", "created", "captured", "refunded"),
    LedgerSubscription: ("customer_id", "status", "created", "currency", "data"),
}


@dataclass(frozen=True)
class View:
    """A row's key, email and field inputs at one moment (JSON data is replaced, never
    changed in place, by the session, so keeping a reference is a copy)."""

    key: str
    email: str
    values: tuple[Any, ...]


def _view(row: LedgerRow) -> View:
    model = type(row)
    return View(
        getattr(row, _KEY[model]),
        getattr(row, "email", ""),
        tuple(getattr(row, c) for c in _COLUMNS[model]),
    )


class Journal:
    """Rows of one session as they entered memory, and after each event that changed them."""

    def __init__(self) -> None:
        #: (table, key) → the row's view as read from the database.
        self._original: dict[tuple[type[LedgerRow], str], View] = {}
        #: (table, key) → [(step, view)], in step order.
        self._after: dict[tuple[type[LedgerRow], str], list[tuple[int, View]]] = defaultdict(list)
        self._since: dict[tuple[type[LedgerRow], str], LedgerRow] = {}
        #: How many events were applied (the step of the last one).
        self.steps = 0

    def entered(self, row: Model) -> None:
        """A row read from the database (before anything changed it)."""
        if isinstance(row, LedgerRow) and type(row) in _KEY:
            self._original.setdefault(self._where(row), _view(row))

    def changed(self, row: Model) -> None:
        """A row changed by the event being applied (other tables are not journalled)."""
        if isinstance(row, LedgerRow) and type(row) in _KEY:
            self._since[self._where(row)] = row

    @staticmethod
    def _where(row: LedgerRow) -> tuple[type[LedgerRow], str]:
        model = type(row)
        return model, getattr(row, _KEY[model])

    def step(self) -> int:
        """The end of one event: remember the rows it changed; returns its step (1, 2, …)."""
        self.steps += 1
        for where, row in self._since.items():
            self._after[where].append((self.steps, _view(row)))
        self._since = {}
        return self.steps

    def held(self, model: type[LedgerRow]) -> set[str]:
        """Keys of the rows of ``model`` the session held or made."""
        return {k for (m, k) in [*self._original, *self._after] if m is model}

    def at(self, model: type[LedgerRow], step: int) -> dict[str, View]:
        """Rows of ``model`` as they were after ``step`` (a row made later is absent)."""
        found: dict[str, View] = {}
        for (m, key), view in self._original.items():
            if m is model:
                found[key] = view
        for (m, key), versions in self._after.items():
            if m is not model:
                continue
            for done, view in versions:
                if done > step:
                    break
                found[key] = view
        return found


def person_at(journal: Journal, step: int, email: str, final: Person) -> Person:
    """``email``'s person after ``step``: the rows the session held as they were then, and the
    others (of any account routed to the site) as ``final`` has them. Subscriptions carry
    no product names and charges no lost disputes: only ``mrr`` and ``currency`` are read."""
    customers = journal.at(LedgerCustomer, step)
    charges = journal.at(LedgerCharge, step)
    subscriptions = journal.at(LedgerSubscription, step)
    held = {m: journal.held(m) for m in TABLES}
    own_customers = [
        Customer(id=v.key, created=v.values[0] or 0, currency=v.values[1], deleted=v.values[2])
        for v in customers.values()
        if v.email == email
    ]
    own_charges = [
        Charge(
            id=v.key,
            currency=v.values[0],
            created=v.values[1] or 0,
            captured=v.values[2],
            refunded=v.values[3],
        )
        for v in charges.values()
        if v.email == email
    ]
    own_subscriptions: list[Subscription] = []
    for v in subscriptions.values():
        if v.email != email:
            continue
        customer_id, status, created, currency, data = v.values
        owner = customers.get(customer_id)
        own_subscriptions.append(
            subscription_from_data(
                v.key, status, created or 0, currency, data, owner.values[3] if owner else None
            )
        )
    return replace(
        final,
        customers=(
            *(c for c in final.customers if c.id not in held[LedgerCustomer]),
            *own_customers,
        ),
        charges=(*(c for c in final.charges if c.id not in held[LedgerCharge]), *own_charges),
        subscriptions=(
            *(s for s in final.subscriptions if s.id not in held[LedgerSubscription]),
            *own_subscriptions,
        ),
    )
