"""What a translator gets (the event and the ledger) and what it returns (Bento events)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..bento.event import iso_date as iso_date  # translators date their details with it
from ..ledger.parse import normalize_email, object_id

if TYPE_CHECKING:
    from ..ledger.session import LedgerSession
    from ..models import SiteModel, StripeAccount


def bento_type(stripe_type: str) -> str:
    """``charge.succeeded`` → ``$ChargeSucceeded`` (``.`` and ``_`` are word breaks)."""
    return "$" + "".join(
        part[:1].upper() + part[1:] for part in re.split(r"[._]", stripe_type) if part
    )


@dataclass
class BentoEvent:
    """One Bento event a translator wants sent, before its person and fields are resolved.

    Processing resolves the person and builds the event as Bento gets it from this one,
    a ``bento_stripe.bento.event.OutboundEvent`` (docs/how-it-works.rst)."""

    type: str
    object_id: str
    #: Who it is about: a customer id, else a charge id whose person the ledger knows.
    customer_id: str = ""
    charge_id: str = ""
    #: An email written on the Stripe object, used when the ledger knows none.
    email_hint: str = ""
    #: (upper-case currency, signed minor units) when money moved.
    value: tuple[str, int] | None = None
    unique_key: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class TranslationContext:
    """A Stripe event being translated, its connection and site, and the ledger to write to."""

    event: dict
    account: StripeAccount
    site: SiteModel
    ledger: LedgerSession

    @property
    def type(self) -> str:
        return self.event["type"]

    @property
    def obj(self) -> dict:
        return self.event["data"]["object"]

    @property
    def previous(self) -> dict:
        """``data.previous_attributes`` of an ``*.updated`` event ({} when absent)."""
        return self.event["data"].get("previous_attributes") or {}

    def bento(self, *, customer=None, charge_id: str = "", email_hint: str = "", **details):
        """A Bento event named after this Stripe event, about ``self.obj``."""
        value = details.pop("value", None)
        unique_key = details.pop("unique_key", "")
        return BentoEvent(
            type=bento_type(self.type),
            object_id=str(self.obj.get("id") or ""),
            customer_id=object_id(customer),
            charge_id=charge_id,
            email_hint=normalize_email(email_hint),
            value=value,
            unique_key=unique_key,
            details={k: v for k, v in details.items() if v is not None},
        )

    def default(self) -> list[BentoEvent]:
        """What the built-in translator of this event type returns (for hosts that amend it)."""
        if _builtin_of is None:
            raise RuntimeError("bento_stripe.translators.registry has not been imported")
        builtin = _builtin_of(self.type)
        return builtin(self) if builtin else []


#: Finds the built-in translator of an event type for ``TranslationContext.default``. The
#: registry hands it over when it is imported (it imports this module, never the reverse, so
#: the two modules form no import cycle); importing ``bento_stripe.translators`` does that.
_builtin_of: Callable[[str], Callable[[TranslationContext], list[BentoEvent]] | None] | None = None


def use_builtins(
    lookup: Callable[[str], Callable[[TranslationContext], list[BentoEvent]] | None],
) -> None:
    """Called once by the registry: where ``TranslationContext.default`` finds built-ins."""
    global _builtin_of
    _builtin_of = lookup
