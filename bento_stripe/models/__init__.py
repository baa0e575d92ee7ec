"""Models of bento-stripe: ``from bento_stripe.models import Team, Membership, Site, StripeAccount``."""

from .accounts import StripeAccount
from .delivery import OutboxEvent, Subscriber
from .ratelimit import DeliveryLock, RateLimitWindow
from .teams import Membership, Site, Team

__all__ = [
    "DeliveryLock",
    "Membership",
    "OutboxEvent",
    "RateLimitWindow",
    "Site",
    "StripeAccount",
    "Subscriber",
    "Team",
]
