"""Keeping Stripe secrets out of log records: codes, tokens, keys and webhook signing secrets.

stripe-python logs request and response bodies at DEBUG (``logging.getLogger("stripe")``):
the token exchange answers with an access token, and creating a webhook endpoint answers
with its signing secret. Every Stripe client of the app installs the filter first.
"""

from __future__ import annotations

import logging
import re

#: Parameters and JSON keys whose values never reach a log record.
_SECRET_PARAMS = re.compile(
    r"(?P<key>code|access_token|refresh_token|stripe_publishable_key|client_secret|secret)"
    r"(?P<sep>=|%3D|\\?\"\s*:\s*\\?\"|'\s*:\s*')(?P<value>[^&\s\"'\\,}]+)"
)
#: Secret-shaped values wherever they stand: Stripe's error texts repeat the code they
#: refused ("Authorization code does not exist: ac_..."); ``whsec_`` is a signing secret.
_SECRET_VALUES = re.compile(r"\b(ac|sk|rk|rt|pk|whsec)_[A-Za-z0-9_\-]{6,}")


class Masked(str):
    """A secret string whose repr shows no character of it.

    DEBUG error pages and error trackers print the repr of every local variable of the
    failing frames (``sensitive_variables`` is off in DEBUG): a secret passed around as a
    Masked string shows as ``'********'`` there. It is a ``str`` for everything else.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'********'"


def redact(text: str) -> str:
    """``text`` with authorization codes, tokens, keys and signing secrets as ``[redacted]``."""
    text = _SECRET_PARAMS.sub(lambda m: f"{m['key']}{m['sep']}[redacted]", text)
    return _SECRET_VALUES.sub(lambda m: f"{m.group(1)}_[redacted]", text)


class RedactingFilter(logging.Filter):
    """Scrubs secrets from stripe-python's own DEBUG records (request and response bodies)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_stripe_log_filter() -> None:
    """Put a RedactingFilter on stripe-python's logger, once."""
    logger = logging.getLogger("stripe")
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
