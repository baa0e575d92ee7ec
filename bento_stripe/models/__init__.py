"""Models of bento-stripe: ``from bento_stripe.models import StripeAccount, get_team_model, get_site_model``.

Team and Site are swappable: reach them through ``get_team_model()`` and ``get_site_model()``.
"""

from .accounts import StripeAccount
from .backfill import BackfillCursor
from .catalogue import CataloguePrice, CatalogueProduct
from .delivery import OutboxEvent, Subscriber
from .events import Reroute, StripeEventRecord
from .ledger import (
    LedgerCharge,
    LedgerCustomer,
    LedgerDispute,
    LedgerInvoice,
    LedgerSubscription,
)
from .privacy import ErasureMarker
from .ratelimit import DeliveryLock, RateLimitWindow
from .teams import (
    AbstractSite,
    AbstractTeam,
    Membership,
    Site,
    SiteModel,
    Team,
    TeamModel,
    get_site_model,
    get_team_model,
)

__all__ = [
    "AbstractSite",
    "AbstractTeam",
    "BackfillCursor",
    "CataloguePrice",
    "CatalogueProduct",
    "DeliveryLock",
    "ErasureMarker",
    "LedgerCharge",
    "LedgerCustomer",
    "LedgerDispute",
    "LedgerInvoice",
    "LedgerSubscription",
    "Membership",
    "OutboxEvent",
    "RateLimitWindow",
    "Reroute",
    "Site",
    "SiteModel",
    "StripeAccount",
    "StripeEventRecord",
    "Subscriber",
    "Team",
    "TeamModel",
    "get_site_model",
    "get_team_model",
]
