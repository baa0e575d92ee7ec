"""The one place that builds Stripe clients, for the platform and for connected accounts.

Every call made for an account (email lookups for held people, the backfill and
reconciliation, disconnect) asks :func:`for_account` for its client:

- a Connect OAuth connection: the platform key with the account in ``Stripe-Account``;
- a Stripe App install: the connection's own access token as the key (Bearer), handed
  out by :mod:`bento_stripe.stripe_app.access_tokens`, refreshed ahead of expiry, and on a 401
  refreshed once and the call retried once.

Platform-level calls (webhook endpoints, the Connect OAuth token exchange) use
:func:`platform`; calls the app owner makes about an install (uninstall) use
:func:`owner_for_account`: the owner's key of the install's mode with ``Stripe-Account``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import stripe

from .conf import app_settings
from .exceptions import ReconnectNeeded, RefreshInTransaction
from .logs import get_logger
from .redaction import Masked, install_stripe_log_filter
from .stripe_app import access_tokens
from .stripe_keys import connect_key, secret_key

if TYPE_CHECKING:
    from .models import StripeAccount

logger = get_logger("bento_stripe.stripe")


def _http_client(timeout: float | None) -> stripe.HTTPClient | None:
    return stripe.RequestsClient(timeout=timeout) if timeout else None


def _bases(connect: bool = False) -> dict[str, str]:
    bases = {"api": app_settings.STRIPE_API_BASE.rstrip("/")}
    if connect:
        bases["connect"] = app_settings.STRIPE_CONNECT_BASE.rstrip("/")
    return bases


def platform(
    *,
    timeout: float | None = None,
    retries: int = 0,
    livemode: bool | None = None,
    connect: bool = False,
) -> stripe.StripeClient:
    """A client on the platform's own key, pointed at ``STRIPE_API_BASE``.

    ``livemode`` picks the owner's key of that mode (:func:`secret_key`); ``connect`` adds
    the Connect client id and ``STRIPE_CONNECT_BASE`` (Connect OAuth calls).
    """
    install_stripe_log_filter()
    key = app_settings.require("STRIPE_SECRET_KEY") if livemode is None else secret_key(livemode)
    options: dict[str, Any] = {}
    if connect:
        options["client_id"] = app_settings.require("STRIPE_CONNECT_CLIENT_ID")
    return stripe.StripeClient(
        key,
        base_addresses=_bases(connect),  # type: ignore[arg-type]
        max_network_retries=retries,
        http_client=_http_client(timeout),
        **options,
    )


def owner_for_account(
    account: StripeAccount, *, timeout: float | None = None, retries: int = 0
) -> stripe.StripeClient:
    """The owner's key of ``account``'s mode with its ``Stripe-Account`` header.

    What a Connect connection's calls use, and what the app owner uses to uninstall an app.
    """
    install_stripe_log_filter()
    key = secret_key(account.livemode) if account.is_app else connect_key(account.livemode)
    return stripe.StripeClient(
        key,
        stripe_account=account.stripe_user_id,
        base_addresses=_bases(),  # type: ignore[arg-type]
        max_network_retries=retries,
        http_client=_http_client(timeout),
    )


def for_account(
    account: StripeAccount, *, timeout: float | None = None, retries: int = 0
) -> stripe.StripeClient:
    """A client acting on ``account``: its access token for an app install, else the
    platform key with the ``Stripe-Account`` header.

    For an app install this raises :class:`bento_stripe.exceptions.ReconnectNeeded`
    while the connection has no usable token (it needs to be connected again).
    """
    if not account.is_app:
        return owner_for_account(account, timeout=timeout, retries=retries)
    install_stripe_log_filter()
    # Sets account.access_token_expires_at: the client asks again only once that is near.
    token = access_tokens.access_token(account)
    return stripe.StripeClient(
        token,
        base_addresses=_bases(),  # type: ignore[arg-type]
        max_network_retries=retries,
        http_client=TokenHttpClient(account, token, timeout=timeout),
    )


class TokenHttpClient(stripe.RequestsClient):
    """Sends each request with the connection's current access token.

    Before a request whose token is due it asks the token service for a fresh one; when
    Stripe answers 401 (a clock drifted, or another process refreshed first and the old
    token died) it asks the service once for a token newer than the refused one and sends
    the request once more.
    """

    def __init__(self, account: StripeAccount, token: str, *, timeout: float | None = None):
        super().__init__(timeout=timeout or 80)
        self._account = account
        self._token = Masked(token)

    def request(  # type: ignore[override]  # RequestsClient's own signature
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        if access_tokens.due_in_memory(self._account):
            self._token = Masked(access_tokens.access_token(self._account))
        response = super().request(method, url, self._with_token(headers), post_data)
        if response[1] != 401:
            return response
        try:
            self._token = Masked(access_tokens.refresh(self._account, refused=self._token))
        except (ReconnectNeeded, RefreshInTransaction) as exc:
            logger.warning(
                "Stripe refused the token of %s: %s",
                self._account.stripe_user_id,
                exc,
                account=self._account.stripe_user_id,
            )
            return response  # Stripe's own 401 reaches the caller as an AuthenticationError
        logger.info(
            "Stripe refused the access token of %s; retried once with a fresh one.",
            self._account.stripe_user_id,
            account=self._account.stripe_user_id,
        )
        return super().request(method, url, self._with_token(headers), post_data)

    def _with_token(self, headers: Mapping[str, str] | None) -> dict[str, str]:
        merged = dict(headers or {})
        merged["Authorization"] = f"Bearer {self._token}"
        return merged
