"""The one place that hands out a Stripe App connection's access token, refreshing it safely.

Stripe's access tokens live an hour and every refresh rolls the refresh token: the old
pair dies (the old access token within seconds). So two workers must never refresh the
same connection at once, and a new pair must be stored before anything uses it:
a refresh runs in a transaction holding the connection's row lock (``select_for_update``
on PostgreSQL; on SQLite the IMMEDIATE transaction already serialises writers), reads the
pair again under the lock (another worker may have refreshed meanwhile: then its token is
used, and Stripe is not asked), and commits the new pair before returning it.

Call it outside a transaction of your own: the new pair must be committed even when the
caller's work rolls back, or the refresh token Stripe handed out would be lost (a refresh
inside another atomic block raises RefreshInTransaction, a RuntimeError).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .. import signals
from ..conf import app_settings
from ..exceptions import ReconnectNeeded, RefreshInTransaction, StripeCallError
from ..logs import get_logger
from ..models import StripeAccount
from ..redaction import Masked
from . import grants

logger = get_logger("bento_stripe.stripe_app")


def _in_callers_transaction() -> bool:
    """Whether a transaction of the caller is open (what a durable atomic block refuses;
    the blocks a Django TestCase opens around a test do not count, as in Django)."""
    blocks = transaction.get_connection().atomic_blocks
    return bool(blocks) and not getattr(blocks[-1], "_from_testcase", False)


def _due(account: StripeAccount) -> bool:
    """Whether the stored access token is missing or within the margin of its expiry."""
    return not account.access_token or _due_at(account.access_token_expires_at)


def _usable(account: StripeAccount) -> bool:
    return account.is_active and not account.needs_reconnect and bool(account.refresh_token)


def access_token(account: StripeAccount) -> str:
    """A valid access token of an app connection: the stored one while it has more than
    ``APP_TOKEN_REFRESH_MARGIN`` left, else a freshly refreshed one.

    ReconnectNeeded when the connection needs to be connected again or is not active.
    Sets ``account.access_token_expires_at`` to the returned token's expiry.
    """
    current = StripeAccount.objects.filter(pk=account.pk).first()
    if current is None or not _usable(current):
        raise ReconnectNeeded(_why(account))
    if not _due(current):
        account.access_token_expires_at = current.access_token_expires_at
        return Masked(current.access_token)
    return refresh(account)


def due_in_memory(account: StripeAccount) -> bool:
    """Whether the token last handed out for ``account`` (by its expiry) is due: ask again."""
    return _due_at(account.access_token_expires_at)


def _due_at(expires_at: datetime | None) -> bool:
    if expires_at is None:
        return True
    margin = timedelta(seconds=app_settings.APP_TOKEN_REFRESH_MARGIN)
    return expires_at - margin <= timezone.now()


@sensitive_variables("refused", "grant")
def refresh(
    account: StripeAccount, *, refused: str = "", issued_before: datetime | None = None
) -> str:
    """Refresh the connection's token pair under its row lock; returns the access token to use.

    ``refused``: the token Stripe just answered 401 to. When the stored token is another
    (another worker refreshed first) and not due, that one is returned without asking
    Stripe. ``issued_before``: roll the pair, even when its token is still good, if it was
    issued before then (the scheduled roll; read under the lock, so it rolls once).
    ``invalid_grant`` marks the connection "needs to be connected again" and raises
    ReconnectNeeded; a transient failure raises StripeCallError and changes nothing.
    """
    refused = Masked(refused)
    if _in_callers_transaction():
        raise RefreshInTransaction(
            f"The app token of {account.stripe_user_id} cannot be refreshed inside a "
            "transaction: call Stripe for an account outside transaction.atomic()."
        )
    # durable: the new pair must be committed when this block ends (Stripe has already
    # killed the old one), so a caller's own transaction is refused here, loudly.
    with transaction.atomic(durable=True):
        row = StripeAccount.objects.select_for_update().get(pk=account.pk)
        if not _usable(row):
            raise ReconnectNeeded(_why(row))
        rolling = issued_before is not None and (
            row.tokens_issued_at is None or row.tokens_issued_at < issued_before
        )
        if not rolling and not _due(row) and (not refused or row.access_token != refused):
            account.access_token_expires_at = row.access_token_expires_at
            return Masked(row.access_token)
        try:
            grant = grants.refresh(row.refresh_token, livemode=row.livemode)
        except StripeCallError as exc:
            if exc.kind != "invalid_grant":
                raise
            grant = None
        if grant is not None and grant.stripe_user_id != row.stripe_user_id:
            logger.error(
                "Stripe answered a refresh of %s with tokens of %s: not stored.",
                row.stripe_user_id,
                grant.stripe_user_id,
                account=row.stripe_user_id,
            )
            grant = None
        if grant is None:
            _mark_needs_reconnect(row)
        else:
            row.access_token = grant.access_token
            row.refresh_token = grant.refresh_token
            row.access_token_expires_at = grant.expires_at
            row.tokens_issued_at = timezone.now()
            row.save(
                update_fields=[
                    "access_token",
                    "refresh_token",
                    "access_token_expires_at",
                    "tokens_issued_at",
                    "updated_at",
                ]
            )
    # The lock is released and the new pair (or the mark) committed before anyone uses it.
    if grant is None:
        account.needs_reconnect = True
        raise ReconnectNeeded(_why(row))
    logger.info(
        "Refreshed the Stripe App token of %s.", row.stripe_user_id, account=row.stripe_user_id
    )
    account.access_token_expires_at = grant.expires_at
    return Masked(grant.access_token)


def _mark_needs_reconnect(row: StripeAccount) -> None:
    logger.warning(
        "Stripe refused the refresh token of %s (invalid_grant): it needs to be connected "
        "again. Its events are still recorded; lookups wait.",
        row.stripe_user_id,
        account=row.stripe_user_id,
    )
    row.needs_reconnect = True
    row.access_token = ""
    row.refresh_token = ""
    row.access_token_expires_at = None
    signals.send_on_commit(signals.account_needs_reconnect, StripeAccount, account=row)
    row.save(
        update_fields=[
            "needs_reconnect",
            "access_token",
            "refresh_token",
            "access_token_expires_at",
            "updated_at",
        ]
    )


def _why(account: StripeAccount) -> str:
    if not account.is_active:
        return f"Stripe account {account.stripe_user_id} is not connected."
    return (
        f"Stripe account {account.stripe_user_id} needs to be connected again (Stripe "
        "refused its app token): a team owner presses Reconnect on its review page."
    )


def can_call(account: StripeAccount) -> bool:
    """Whether calls for ``account`` can be made now (always for Connect; app: a token held)."""
    if not account.is_app:
        return True
    return _usable(account)


def roll_due() -> dict[str, int]:
    """Roll the pair of every app connection whose tokens are older than
    ``APP_REFRESH_TOKEN_ROLL_DAYS``, so no refresh token reaches its year; counts by outcome."""
    cutoff = timezone.now() - timedelta(days=app_settings.APP_REFRESH_TOKEN_ROLL_DAYS)
    due = (
        StripeAccount.objects.active()
        .filter(kind=StripeAccount.Kind.APP, needs_reconnect=False)
        .exclude(refresh_token="")
        .filter(tokens_issued_at__lt=cutoff)
    )
    counts = {"rolled": 0, "needs_reconnect": 0, "failed": 0}
    for account in due.order_by("tokens_issued_at", "pk")[:500]:
        try:
            refresh(account, issued_before=cutoff)
        except ReconnectNeeded:
            counts["needs_reconnect"] += 1
        except StripeCallError as exc:
            logger.warning(
                "Rolling the app token of %s failed: %s",
                account.stripe_user_id,
                exc,
                account=account.stripe_user_id,
            )
            counts["failed"] += 1
        else:
            counts["rolled"] += 1
    return counts
