"""Reading one page of a Stripe list for a connection, with polite retries.

Stripe answers ``429 rate_limit`` (and ``lock_timeout``) when an account is asked too
fast; stripe-python raises ``RateLimitError`` with the response headers. The client is
made with ``max_network_retries=0`` so that the waiting happens here, with a clock and a
sleep that tests replace, and with ``Stripe-Should-Retry`` honoured: ``false`` never
retries, ``true`` always may (https://docs.stripe.com/rate-limits,
https://docs.stripe.com/error-low-level#idempotency).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import stripe

from .. import stripe_clients
from ..backoff import Rng, full_jitter
from ..conf import app_settings
from ..logs import get_logger
from ..models import StripeAccount

logger = get_logger("bento_stripe.backfill")


@dataclass(frozen=True)
class Page:
    """One page of a Stripe list: its objects as plain dicts, and whether more follow."""

    objects: list[dict]
    has_more: bool

    @property
    def last_id(self) -> str:
        return str(self.objects[-1]["id"]) if self.objects else ""


@dataclass
class Backoff:
    """How long to wait before retry ``n`` (1-based), and how (``sleep``; tests pass their own)."""

    base: float = 1.0
    cap: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    rng: Rng = field(default=random)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        return full_jitter(
            attempt, base=self.base, cap=self.cap, retry_after=retry_after, rng=self.rng
        )


def _header(error: stripe.StripeError, name: str) -> str | None:
    for key, value in (error.headers or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _retry_after(error: stripe.StripeError) -> float | None:
    value = _header(error, "retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def retryable(error: stripe.StripeError) -> bool:
    """Whether a failed list call may be tried again (Stripe-Should-Retry first)."""
    should = _header(error, "stripe-should-retry")
    if should == "false":
        return False
    if should == "true":
        return True
    if isinstance(error, stripe.RateLimitError | stripe.APIConnectionError):
        return True
    return isinstance(error, stripe.APIError) and (error.http_status or 500) >= 500


def fetch_page(
    account: StripeAccount,
    resource: str,
    params: dict[str, Any],
    *,
    backoff: Backoff | None = None,
    retries: int | None = None,
    client: stripe.StripeClient | None = None,
) -> Page:
    """One page of ``GET /v1/<resource>`` with ``params``, retried on 429, 5xx and network
    errors up to ``BACKFILL_MAX_RETRIES`` times; other errors are raised at once."""
    backoff = backoff or Backoff()
    retries = app_settings.BACKFILL_MAX_RETRIES if retries is None else retries
    client = client or stripe_clients.for_account(
        account, timeout=app_settings.BACKFILL_TIMEOUT, retries=0
    )
    attempt = 0
    while True:
        try:
            # The raw JSON, as webhooks carry it: stripe-python's objects turn
            # ``unit_amount_decimal`` into Decimal, which the ledger reads as a string.
            response = client.raw_request("get", f"/v1/{resource}", **params)
        except stripe.StripeError as error:
            attempt += 1
            if attempt > retries or not retryable(error):
                raise
            wait = backoff.delay(attempt, _retry_after(error))
            logger.info(
                "Stripe %s list of %s answered %s; retry %d in %.1fs",
                resource,
                account.stripe_user_id,
                error.http_status,
                attempt,
                wait,
                account=account.stripe_user_id,
            )
            backoff.sleep(wait)
            continue
        body = response.data
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise stripe.APIError(f"Stripe's {resource} list answered no list", http_status=200)
        return Page(body["data"], bool(body.get("has_more")))
