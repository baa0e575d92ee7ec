"""Django admin of bento-stripe, one module per area."""

from . import (  # noqa: F401  (registers the ModelAdmins)
    accounts,
    api_tokens,
    backfill,
    catalogue,
    delivery,
    events,
    privacy,
    teams,
)
