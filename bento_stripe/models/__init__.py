"""Models of bento-stripe: ``from bento_stripe.models import Team, Membership, Site, StripeAccount``."""

from .accounts import StripeAccount
from .backfill import BackfillCursor
from .delivery import OutboxEvent, Subscriber
from .events import Reroute, StripeEventRecord
from .ledger import LedgerCharge, LedgerCustomer, LedgerDispute, LedgerSubscription
from .ratelimit import DeliveryLock, RateLimitWindow
from .teams import Membership, Site, Team

__all__ = [
    "BackfillCursor",
    "DeliveryLock",
    "LedgerCharge",
    "LedgerCustomer",
    "LedgerDispute",
    "LedgerSubscription",
    "Membership",
    "OutboxEvent",
    "RateLimitWindow",
    "Reroute",
    "Site",
    "StripeAccount",
    "StripeEventRecord",
    "Subscriber",
    "Team",
]
