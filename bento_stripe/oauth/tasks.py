"""Queue tasks of the OAuth flow: revoking the app at Stripe after a local disconnect.

A Connect connection is deauthorized (``/oauth/deauthorize``); a Stripe App install is
uninstalled (``/v1/apps/installs/{id}/uninstall``).
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from .. import queue
from ..backoff import Rng, full_jitter
from ..exceptions import StripeCallError
from ..logs import get_logger
from ..models import StripeAccount
from . import app_install as api
from . import client

logger = get_logger("bento_stripe.oauth")

#: Attempts at Stripe's /oauth/deauthorize before giving up (and logging an error).
MAX_ATTEMPTS = 8
#: The longest delay before the 2nd attempt; doubles each time, capped at MAX_DELAY.
FIRST_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(hours=1)


def retry_delay(attempt: int, rng: Rng = random) -> timedelta:
    """How long to wait after failed attempt number ``attempt`` (1-based)."""
    seconds = full_jitter(
        attempt, base=FIRST_DELAY.total_seconds(), cap=MAX_DELAY.total_seconds(), rng=rng
    )
    return timedelta(seconds=seconds)


def deauthorize_account(account_pk: int, attempt: int = 1) -> str:
    """Revoke the app at Stripe for a disconnected connection; reschedules itself while Stripe is down.

    Idempotent: it does nothing when the connection is gone, or when the same Stripe
    account is actively connected again (revoking would cut the new connection).
    """
    account = StripeAccount.objects.filter(pk=account_pk).first()
    if account is None:
        return "skipped: connection no longer exists"
    if StripeAccount.objects.active().filter(stripe_user_id=account.stripe_user_id).exists():
        return "skipped: the Stripe account is connected again"
    try:
        if account.is_app:
            result = api.uninstall(account)
            logger.info(
                "Stripe App on %s: %s.",
                account.stripe_user_id,
                result,
                account=account.stripe_user_id,
            )
        else:
            client.deauthorize(account.stripe_user_id)
    except ImproperlyConfigured as exc:
        logger.error(
            "Cannot deauthorize Stripe account %s: %s",
            account.stripe_user_id,
            exc,
            account=account.stripe_user_id,
        )
        return f"not configured: {exc}"
    except StripeCallError as exc:
        if not exc.transient:
            # Stripe no longer knows the connection (already revoked there): nothing left to do.
            logger.warning(
                "Deauthorizing Stripe account %s: %s Not retried.",
                account.stripe_user_id,
                exc,
                account=account.stripe_user_id,
            )
            return f"refused: {exc}"
        if attempt >= MAX_ATTEMPTS:
            logger.error(
                "Deauthorizing Stripe account %s failed %d times: %s Giving up; revoke the app "
                "in the account's Stripe dashboard.",
                account.stripe_user_id,
                attempt,
                exc,
                account=account.stripe_user_id,
            )
            return f"gave up: {exc}"
        when = timezone.now() + retry_delay(attempt)
        schedule_retry(account_pk, attempt + 1, when)
        logger.warning(
            "Deauthorizing Stripe account %s: %s Retrying at %s (attempt %d of %d).",
            account.stripe_user_id,
            exc,
            when.isoformat(timespec="seconds"),
            attempt + 1,
            MAX_ATTEMPTS,
            account=account.stripe_user_id,
        )
        return f"retry scheduled: {exc}"
    if account.is_app:
        return "uninstalled"
    logger.info(
        "Deauthorized Stripe account %s at Stripe.",
        account.stripe_user_id,
        account=account.stripe_user_id,
    )
    return "deauthorized"


def schedule_retry(account_pk: int, attempt: int, when) -> None:
    """Run :func:`deauthorize_account` once more at ``when`` (a django-q2 one-off schedule)."""
    queue.schedule_once(
        queue.DEAUTHORIZE,
        int(account_pk),
        int(attempt),
        name=f"bento_stripe deauthorize {account_pk} attempt {attempt}",
        when=when,
    )
