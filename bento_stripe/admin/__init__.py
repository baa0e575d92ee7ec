"""Django admin of bento-stripe, one module per area."""

from . import (  # noqa: F401  (registers the ModelAdmins)
    accounts,
    backfill,
    catalogue,
    delivery,
    events,
    teams,
    tokens,
)
