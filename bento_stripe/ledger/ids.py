"""The Stripe ids a batch of events (or a page of history) names, gathered before any
ledger row is read, so that ``LedgerSession.preload`` reads them all at once."""

from __future__ import annotations

from dataclasses import dataclass, field

from .parse import object_id


@dataclass
class ObjectIds:
    """The Stripe ids a batch of events names, to read their ledger rows at once."""

    customers: set[str] = field(default_factory=set)
    charges: set[str] = field(default_factory=set)
    disputes: set[str] = field(default_factory=set)
    subscriptions: set[str] = field(default_factory=set)
    #: Customers whose own object is in the batch (their email may change in it).
    customer_objects: set[str] = field(default_factory=set)

    def add_object(self, obj: dict) -> None:
        """Collect the ids a Stripe object (an event's ``data.object``) refers to."""
        kind = obj.get("object")
        own = obj["id"] if isinstance(obj.get("id"), str) else ""
        customer = object_id(obj.get("customer"))
        charge = object_id(obj.get("charge"))
        if kind == "customer":
            self.customers.add(own)
            self.customer_objects.add(own)
        elif kind == "charge":
            self.charges.add(own)
        elif kind == "dispute":
            self.disputes.add(own)
        elif kind == "subscription":
            self.subscriptions.add(own)
        self.customers.add(customer)
        self.charges.add(charge)

    def discard_empty(self) -> None:
        for ids in (
            self.customers,
            self.charges,
            self.disputes,
            self.subscriptions,
            self.customer_objects,
        ):
            ids.discard("")
