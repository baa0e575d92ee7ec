"""The Stripe side of an app install: install links, the account's name, uninstall.

The token calls (exchange and refresh) are in :mod:`bento_stripe.stripe_app.grants`. Every
failure comes out as :class:`~bento_stripe.exceptions.StripeCallError` with a message that
carries no code, token or key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import stripe

from .. import stripe_clients
from ..conf import app_settings
from ..exceptions import StripeCallError

if TYPE_CHECKING:
    from ..models import StripeAccount

KIND_CONNECT = "connect"
KIND_APP = "app"


def install_kind() -> str:
    """How new connections are made now: ``"connect"`` or ``"app"`` (``STRIPE_INSTALL_KIND``)."""
    return (app_settings.STRIPE_INSTALL_KIND or KIND_CONNECT).strip().lower()


def configured_link(livemode: bool) -> str:
    """The install link configured for a mode (``STRIPE_APP_INSTALL_URL`` / ``..._TEST_...``)."""
    if livemode:
        return app_settings.STRIPE_APP_INSTALL_URL.strip()
    return app_settings.STRIPE_APP_TEST_INSTALL_URL.strip()


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


def account_display_name(account: StripeAccount) -> str:
    """The name Stripe shows for an installed account, asked with the install's own token."""
    client = stripe_clients.for_account(account, timeout=app_settings.APP_TOKEN_TIMEOUT)
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
    client = stripe_clients.owner_for_account(account, timeout=app_settings.APP_TOKEN_TIMEOUT)
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
