"""Queue tasks of Stripe App installs: the scheduled roll of every connection's tokens."""

from __future__ import annotations

from . import access_tokens


def roll_tokens() -> str:
    """Roll the token pairs that are due (``APP_REFRESH_TOKEN_ROLL_DAYS``); a summary line."""
    counts = access_tokens.roll_due()
    return ", ".join(f"{name}: {count}" for name, count in counts.items())
