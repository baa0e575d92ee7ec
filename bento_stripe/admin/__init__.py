"""Django admin of bento-stripe, one module per area."""

from . import accounts, api_tokens, backfill, delivery, events, teams  # noqa: F401  (registers the ModelAdmins)
