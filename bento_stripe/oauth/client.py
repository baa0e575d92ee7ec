"""The only place bento-stripe talks to Stripe Connect: authorize URL, token, account, deauthorize.

Built on the platform's ``StripeClient`` from :mod:`bento_stripe.stripe_clients`, pointed at ``STRIPE_API_BASE`` and
``STRIPE_CONNECT_BASE`` (module-level ``stripe.OAuth`` reads its base once and would
ignore them). Every Stripe failure comes out as :class:`StripeCallError`, whose
message carries no code, token or key. stripe-python's own DEBUG records are
scrubbed by :mod:`bento_stripe.redaction`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import stripe
from django.views.decorators.debug import sensitive_variables

from .. import stripe_clients
from ..conf import app_settings
from ..exceptions import StripeCallError
from ..redaction import Masked, redact


@dataclass(frozen=True)
class Grant:
    """What Stripe's ``/oauth/token`` answered, minus what we must not keep by default.

    ``access_token`` is empty unless ``STORE_ACCESS_TOKEN`` is on, and never part of the
    repr (DEBUG pages and error trackers show the locals of failing frames).
    """

    stripe_user_id: str
    livemode: bool
    scope: str
    access_token: str = field(default="", repr=False)


def client() -> stripe.StripeClient:
    """The platform's Connect client (:func:`bento_stripe.stripe_clients.platform`)."""
    return stripe_clients.platform(connect=True)


def authorize_url(*, redirect_uri: str, state: str, email: str = "") -> str:
    """Stripe's authorize page for this platform, asking for ``OAUTH_SCOPE``."""
    params: stripe.OAuth.OAuthAuthorizeUrlParams = {
        "response_type": "code",
        "scope": app_settings.OAUTH_SCOPE,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if email:
        params["stripe_user"] = {"email": email}
    return client().oauth.authorize_url(params)


def _translate(exc: Exception, action: str) -> StripeCallError:
    if isinstance(exc, stripe.oauth_error.InvalidGrantError):
        return StripeCallError(
            "invalid_grant", f"Stripe refused the authorization code ({action})."
        )
    if isinstance(exc, stripe.oauth_error.OAuthError):
        code = getattr(exc, "code", None) or type(exc).__name__
        return StripeCallError("refused", f"Stripe answered {redact(str(code))} ({action}).")
    if isinstance(exc, stripe.APIConnectionError):
        return StripeCallError("unreachable", f"Stripe could not be reached ({action}).")
    status = getattr(exc, "http_status", None) or 0
    kind = "server" if status >= 500 or status == 429 else "refused"
    return StripeCallError(kind, f"Stripe answered HTTP {status or '?'} ({action}).")


@sensitive_variables("code", "token", "access_token")
def exchange_code(code: str) -> Grant:
    """Trade an authorization code for the connected account's id, mode and scope.

    The tokens of the answer are dropped at once: the access token is kept in the
    Grant only when ``STORE_ACCESS_TOKEN`` is on, the refresh token never.
    """
    try:
        # Plain dicts: stripe>=15 objects have no .get (only dj-stripe's patch adds it back).
        token = client().oauth.token({"grant_type": "authorization_code", "code": code}).to_dict()
    except stripe.StripeError as exc:
        raise _translate(exc, "token exchange") from None
    access_token = Masked(token.pop("access_token", None) or "")
    token.pop("refresh_token", None)
    if not app_settings.STORE_ACCESS_TOKEN:
        access_token = Masked("")
    user_id = token.get("stripe_user_id")
    if not user_id or not isinstance(token.get("livemode"), bool):
        raise StripeCallError(
            "refused", "Stripe's token response lacks stripe_user_id or livemode."
        )
    return Grant(
        stripe_user_id=user_id,
        livemode=token["livemode"],
        scope=token.get("scope") or "",
        access_token=access_token,
    )


def account_display_name(stripe_user_id: str) -> str:
    """The name Stripe shows for a connected account (dashboard name, business name or email)."""
    stripe_client = client()
    # Newer stripe-python moved the services under ``v1``; older ones have them at the top.
    accounts = getattr(stripe_client, "v1", stripe_client).accounts
    try:
        account = accounts.retrieve(stripe_user_id).to_dict()
    except stripe.StripeError as exc:
        raise _translate(exc, "account lookup") from None
    settings = account.get("settings") or {}
    dashboard = settings.get("dashboard") or {}
    profile = account.get("business_profile") or {}
    return (dashboard.get("display_name") or profile.get("name") or account.get("email") or "")[
        :255
    ]


def deauthorize(stripe_user_id: str) -> None:
    """Revoke this platform's access to ``stripe_user_id`` at Stripe."""
    try:
        client().oauth.deauthorize({"stripe_user_id": stripe_user_id})
    except stripe.StripeError as exc:
        raise _translate(exc, "deauthorize") from None
