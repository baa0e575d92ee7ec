"""The Bento event as Bento gets it: built once by processing, stored, read back by delivery.

A translator returns a :class:`~bento_stripe.translators.BentoEvent`, an intent: what
happened and who it is about, before the person is known. Processing resolves the
person, then builds one :class:`OutboundEvent` (this module is its only maker) and
stores :meth:`OutboundEvent.to_item` as the outbox row's ``payload``: the JSON item
``/batch/events`` receives, byte for byte. Delivery reads it back with
:meth:`OutboundEvent.from_item` and changes one thing, the ``fields``, to the person's
fields at send time (docs/topics/delivery.rst, "Fields at send time").
``$MrrChanged`` events are built here too (docs/reference/events.rst).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

#: The Bento event type of an MRR move.
MRR_CHANGED = "$MrrChanged"


def iso_date(created: int) -> str:
    """A UNIX time as UTC ISO 8601 with a ``Z``, to the second."""
    return datetime.fromtimestamp(int(created), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Origin:
    """The Stripe event a Bento event comes from: the keys every ``details`` starts with."""

    stripe_event_id: str
    stripe_account: str
    livemode: bool
    #: The Stripe object the event is about.
    object_id: str

    def details(self) -> dict[str, Any]:
        return {
            "stripe_event_id": self.stripe_event_id,
            "stripe_account": self.stripe_account,
            "livemode": self.livemode,
            "object_id": self.object_id,
        }


@dataclass(frozen=True)
class OutboundEvent:
    """One item of a ``/batch/events`` request (docs/how-it-works.rst, "What Bento receives")."""

    type: str
    email: str
    #: ``YYYY-MM-DDTHH:MM:SSZ``, the Stripe event's ``created``; None only for an item
    #: stored without one (then Bento dates it).
    date: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    #: Everything of ``details`` but ``unique``.
    details: dict[str, Any] = field(default_factory=dict)
    #: ``details.unique.key``: Bento counts a value once per key (None: no ``unique``).
    unique_key: str | None = None

    @classmethod
    def about(
        cls,
        type: str,
        origin: Origin,
        *,
        email: str,
        date: str,
        fields: dict[str, Any],
        details: Mapping[str, Any] | None = None,
        value: tuple[str, int] | None = None,
        unique_key: str | None = None,
    ) -> OutboundEvent:
        """An event about a Stripe event: ``details`` start with its ``origin`` (which they
        cannot replace), then ``value`` in minor units."""
        merged = origin.details()
        for key, item in (details or {}).items():
            merged.setdefault(key, item)
        if value is not None:
            currency, amount = value
            merged["value"] = {"currency": currency, "amount": amount}
        return cls(type, email, date, fields, merged, unique_key)

    @classmethod
    def mrr_changed(
        cls,
        origin: Origin,
        move: Mapping[str, Any],
        *,
        email: str,
        date: str,
        fields: dict[str, Any],
    ) -> OutboundEvent:
        """A ``$MrrChanged`` (docs/reference/events.rst): ``move`` holds ``movement``,
        ``mrr``, ``previous_mrr``, ``currency`` and ``subscription`` (None when none), in
        that order. Counted once per Stripe event: its unique key is ``<event id>:mrr``."""
        return cls.about(
            MRR_CHANGED,
            origin,
            email=email,
            date=date,
            fields=fields,
            details=move,
            unique_key=f"{origin.stripe_event_id}:mrr",
        )

    def to(self, email: str, fields: dict[str, Any]) -> OutboundEvent:
        """The same event for ``email`` with ``fields`` (a held row, released)."""
        return replace(self, email=email, fields=fields)

    def with_fields(self, fields: dict[str, Any]) -> OutboundEvent:
        """The same event with the person's ``fields`` as they are when it is sent."""
        return replace(self, fields=fields)

    def to_item(self) -> dict[str, Any]:
        """The JSON item Bento gets, stored as ``OutboxEvent.payload`` as it will be sent."""
        details = dict(self.details)
        if self.unique_key is not None:
            details["unique"] = {"key": self.unique_key}
        item: dict[str, Any] = {"type": self.type, "email": self.email}
        if self.date is not None:
            item["date"] = self.date
        item["fields"] = self.fields
        item["details"] = details
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any], *, email: str = "") -> OutboundEvent:
        """An event read back from a stored item (a copy: the item is left as it is).

        ``email`` stands in when the item names none. ``to_item()`` gives back every item
        processing has stored, key for key, and in the same order where the database kept
        it (SQLite does; PostgreSQL's ``jsonb`` orders keys its own way): processing puts
        ``unique`` last in ``details``, where ``to_item()`` puts it.
        """
        item = copy.deepcopy(dict(item))
        details = item.get("details")
        details = details if isinstance(details, dict) else {}
        unique_key: str | None = None
        if _is_key(details.get("unique")):
            unique_key = details.pop("unique")["key"]
        fields = item.get("fields")
        date = item.get("date")
        return cls(
            type=str(item.get("type") or ""),
            email=str(item.get("email", email) or ""),
            date=date if isinstance(date, str) else None,
            fields=fields if isinstance(fields, dict) else {},
            details=details,
            unique_key=unique_key,
        )


def _is_key(unique: object) -> bool:
    return isinstance(unique, dict) and list(unique) == ["key"] and isinstance(unique["key"], str)
