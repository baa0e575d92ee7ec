"""The Stripe calls of an app install: install links, token exchange and refresh, uninstall.

Stripe documents the token endpoint of Apps OAuth at ``POST {STRIPE_API_BASE}/v1/oauth/token``
with the app owner's secret key of the install's mode as HTTP Basic user and an empty
password (https://docs.stripe.com/stripe-apps/api-authentication/oauth). stripe-python's
``OAuth.token()`` posts to Connect's host instead, so the call is made with ``requests``.
The answer has no ``expires_in``: an access token lives an hour (``APP_TOKEN_LIFETIME``).
Every failure comes out as :class:`~bento_stripe.oauth.client.StripeCallError` with a
message that carries no code, token or key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
import stripe
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .. import stripe_clients
from ..conf import app_settings
from ..oauth.client import StripeCallError
from ..operations.logs import get_logger
from ..redaction import Masked, redact

if TYPE_CHECKING:
    from ..models import StripeAccount

logger = get_logger("bento_stripe.stripe_app")

KIND_CONNECT = "connect"
KIND_APP = "app"


def install_kind() -> str:
    """How new connections are made now: ``"connect"`` or ``"app"`` (``STRIPE_INSTALL_KIND``)."""
    return str(app_settings.STRIPE_INSTALL_KIND or KIND_CONNECT).strip().lower()


def configured_link(livemode: bool) -> str:
    """The install link configured for a mode (``STRIPE_APP_INSTALL_URL`` / ``..._TEST_...``)."""
    key = "STRIPE_APP_INSTALL_URL" if livemode else "STRIPE_APP_TEST_INSTALL_URL"
    return str(getattr(app_settings, key) or "").strip()


def modes() -> list[bool]:
    """The modes a new install can be made in (livemode values), live first."""
    return [live for live in (True, False) if configured_link(live)]


def install_url(*, livemode: bool, redirect_uri: str, state: str) -> str:
    """The configured install link of ``livemode`` with our ``redirect_uri`` and ``state``.

    The link is used as Stripe shows it (the external-test link has an extra path segment);
    only ``redirect_uri`` and ``state`` are set, replacing any the link carried.
    """
    link = configured_link(livemode)
    if not link:
        key = "STRIPE_APP_INSTALL_URL" if livemode else "STRIPE_APP_TEST_INSTALL_URL"
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"settings.BENTO_STRIPE[{key!r}] is not set: copy the app's "
            f"{'live' if livemode else 'test'}-mode install link from the Stripe Dashboard."
        )
    parts = urlsplit(link)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("redirect_uri", "state")]
    query += [("redirect_uri", redirect_uri), ("state", state)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


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
    key = stripe_clients.secret_key(livemode)
    try:
        response = requests.post(
            token_url(),
            data=body,
            auth=(key, ""),
            timeout=float(app_settings.APP_TOKEN_TIMEOUT),
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
    lifetime = int(app_settings.APP_TOKEN_LIFETIME)
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


def account_display_name(account: StripeAccount) -> str:
    """The name Stripe shows for an installed account, asked with the install's own token."""
    client = stripe_clients.for_account(account, timeout=float(app_settings.APP_TOKEN_TIMEOUT))
    try:
        data = client.v1.accounts.retrieve(account.stripe_user_id).to_dict()
    except stripe.StripeError as exc:
        raise StripeCallError("refused", f"Stripe answered {exc.http_status} (account).") from None
    dashboard = (data.get("settings") or {}).get("dashboard") or {}
    profile = data.get("business_profile") or {}
    return (dashboard.get("display_name") or profile.get("name") or data.get("email") or "")[:255]


def uninstall(account: StripeAccount) -> str:
    """Uninstall the app from ``account`` at Stripe; returns the install's status.

    Finds the install with ``GET /v1/apps/installs`` and ends it with
    ``POST /v1/apps/installs/{id}/uninstall``, both with the owner's key of the account's
    mode and ``Stripe-Account`` (https://docs.stripe.com/api/apps/installs/uninstall).
    "not installed" when Stripe lists none (already gone).
    """
    client = stripe_clients.owner_for_account(
        account, timeout=float(app_settings.APP_TOKEN_TIMEOUT)
    )
    try:
        listed = client.raw_request("get", "/v1/apps/installs", limit=10).data
        installs = [
            i
            for i in listed.get("data") or []
            if i.get("status") not in ("uninstalling", "uninstalled")
        ]
        if not installs:
            return "not installed"
        status = ""
        for install in installs:
            answer = client.raw_request("post", f"/v1/apps/installs/{install['id']}/uninstall").data
            status = str(answer.get("status") or "uninstalling")
        return status
    except stripe.APIConnectionError:
        raise StripeCallError("unreachable", "Stripe could not be reached (uninstall).") from None
    except stripe.StripeError as exc:
        status_code = exc.http_status or 0
        kind = "server" if status_code >= 500 or status_code == 429 else "refused"
        raise StripeCallError(kind, f"Stripe answered HTTP {status_code} (uninstall).") from None
