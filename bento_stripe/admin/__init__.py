"""Django admin of bento-stripe, one module per area."""

from . import accounts, backfill, delivery, events, teams, tokens  # noqa: F401  (registers the ModelAdmins)
