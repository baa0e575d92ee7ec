"""Models of bento-stripe: ``from bento_stripe.models import Team, Membership, Site, StripeAccount``."""

from .accounts import StripeAccount
from .delivery import OutboxEvent, Subscriber
from .teams import Membership, Site, Team

__all__ = ["Membership", "OutboxEvent", "Site", "StripeAccount", "Subscriber", "Team"]
