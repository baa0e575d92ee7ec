"""The one place that builds Stripe clients acting for a connected account.

Every call made for an account (email lookups for held people, the backfill and
reconciliation, disconnect) asks :func:`for_account` for its client. Today a connection is
made with Connect OAuth, so the client carries the platform key and the account in the
``Stripe-Account`` header; a connection kind with its own credentials plugs in here and
nowhere else. Platform-level calls (webhook endpoints, the OAuth token exchange) use
:func:`platform`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import stripe

from .conf import app_settings
from .redaction import install_stripe_log_filter

if TYPE_CHECKING:
    from .models import StripeAccount


def _http_client(timeout: float | None) -> stripe.HTTPClient | None:
    return stripe.RequestsClient(timeout=timeout) if timeout else None


def platform(*, timeout: float | None = None, retries: int = 0) -> stripe.StripeClient:
    """A client on the platform's own key, pointed at ``STRIPE_API_BASE``."""
    install_stripe_log_filter()
    return stripe.StripeClient(
        app_settings.require("STRIPE_SECRET_KEY"),
        base_addresses={"api": app_settings.STRIPE_API_BASE.rstrip("/")},
        max_network_retries=retries,
        http_client=_http_client(timeout),
    )


def for_account(
    account: StripeAccount, *, timeout: float | None = None, retries: int = 0
) -> stripe.StripeClient:
    """A client acting on ``account``: the platform key with the ``Stripe-Account`` header."""
    install_stripe_log_filter()
    return stripe.StripeClient(
        app_settings.require("STRIPE_SECRET_KEY"),
        stripe_account=account.stripe_user_id,
        base_addresses={"api": app_settings.STRIPE_API_BASE.rstrip("/")},
        max_network_retries=retries,
        http_client=_http_client(timeout),
    )
