"""The token calls of an app install: trade an install's code, refresh a token pair.

Stripe documents the token endpoint of Apps OAuth at ``POST {STRIPE_API_BASE}/v1/oauth/token``
with the app owner's secret key of the install's mode as HTTP Basic user and an empty
password (https://docs.stripe.com/stripe-apps/api-authentication/oauth). stripe-python's
``OAuth.token()`` posts to Connect's host instead, so the call is made with ``requests``.
The answer has no ``expires_in``: an access token lives an hour (``APP_TOKEN_LIFETIME``).
Every failure comes out as :class:`~bento_stripe.exceptions.StripeCallError` with a
message that carries no code, token or key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from ..conf import app_settings
from ..exceptions import StripeCallError
from ..redaction import Masked, redact
from ..stripe_keys import secret_key


@dataclass(frozen=True)
class AppGrant:
    """What Stripe's token endpoint answered for an app install (tokens never in the repr)."""

    stripe_user_id: str
    livemode: bool
    scope: str
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime = field(default_factory=timezone.now)


def token_url() -> str:
    return app_settings.STRIPE_API_BASE.rstrip("/") + "/v1/oauth/token"


@sensitive_variables("body", "key", "payload", "data")
def _token_call(body: dict[str, str], livemode: bool, action: str) -> AppGrant:
    """POST ``body`` to the token endpoint with the owner's key of ``livemode``."""
    key = secret_key(livemode)
    try:
        response = requests.post(
            token_url(),
            data=body,
            auth=(key, ""),
            timeout=app_settings.APP_TOKEN_TIMEOUT,
            headers={"User-Agent": "bento-stripe (Stripe App OAuth)"},
        )
    except requests.RequestException:
        raise StripeCallError("unreachable", f"Stripe could not be reached ({action}).") from None
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    if response.status_code >= 500 or response.status_code == 429:
        raise StripeCallError("server", f"Stripe answered HTTP {response.status_code} ({action}).")
    if response.status_code != 200:
        error = payload.get("error")
        code = error if isinstance(error, str) else (error or {}).get("code") or ""
        if code == "invalid_grant":
            raise StripeCallError("invalid_grant", f"Stripe refused the grant ({action}).")
        raise StripeCallError(
            "refused",
            f"Stripe answered HTTP {response.status_code} {redact(str(code))[:64]} ({action}).",
        )
    data = Masked(payload.get("access_token") or ""), Masked(payload.get("refresh_token") or "")
    user_id, live = payload.get("stripe_user_id"), payload.get("livemode")
    if not data[0] or not data[1] or not user_id or not isinstance(live, bool):
        raise StripeCallError(
            "refused",
            f"Stripe's token answer lacks a token, stripe_user_id or livemode ({action}).",
        )
    lifetime = app_settings.APP_TOKEN_LIFETIME
    return AppGrant(
        stripe_user_id=str(user_id),
        livemode=live,
        scope=str(payload.get("scope") or ""),
        access_token=data[0],
        refresh_token=data[1],
        expires_at=timezone.now() + timedelta(seconds=lifetime),
    )


@sensitive_variables("code")
def exchange_code(code: str, *, livemode: bool) -> AppGrant:
    """Trade an install's authorization code (single use, 5 minutes) for its token pair."""
    return _token_call(
        {"grant_type": "authorization_code", "code": code}, livemode, "token exchange"
    )


@sensitive_variables("refresh_token")
def refresh(refresh_token: str, *, livemode: bool) -> AppGrant:
    """A new token pair; the refresh token given is dead afterwards (Stripe rolls it)."""
    return _token_call(
        {"grant_type": "refresh_token", "refresh_token": refresh_token}, livemode, "token refresh"
    )
