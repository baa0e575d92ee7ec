"""Ending a connection: the step both a disconnect from the pages and a deauthorization or
uninstall reported by Stripe go through.

It lives in processing, below the service layer, because processing applies the Stripe events
that end a connection (``account.application.deauthorized``, ``apps.install.deleted``) itself:
translators only translate (docs/how-it-works.rst, "Package layers").
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from .. import signals
from ..models import BackfillCursor, StripeAccount
from .outbox import end_held_rows

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

#: Stripe event types that tell us the account owner removed the app at Stripe: a Connect
#: deauthorization, or a Stripe App uninstalled (API versions from 2026-09-30).
DEAUTHORIZING_EVENTS = frozenset({"account.application.deauthorized", "apps.install.deleted"})

#: The fields that hold a connection's tokens, wiped together.
TOKEN_FIELDS = ("access_token", "refresh_token", "access_token_expires_at")

_OPEN_CURSORS = (
    BackfillCursor.State.PENDING,
    BackfillCursor.State.RUNNING,
    BackfillCursor.State.FAILED,
)


def end_connection(
    locked: StripeAccount,
    status: StripeAccount.Status,
    *,
    disconnected_at: datetime,
    by: AbstractBaseUser | AnonymousUser | None = None,
) -> None:
    """On a row locked by the caller's transaction: set ``status``, wipe the tokens, end the
    held rows, stop the backfill, and tell host projects after the commit."""
    locked.status = status
    locked.disconnected_at = disconnected_at
    locked.access_token = ""
    locked.refresh_token = ""
    locked.access_token_expires_at = None
    locked.save(update_fields=["status", "disconnected_at", *TOKEN_FIELDS, "updated_at"])
    end_held_rows(locked)
    BackfillCursor.objects.filter(account=locked, state__in=_OPEN_CURSORS).update(
        state=BackfillCursor.State.STOPPED, finished_at=timezone.now()
    )
    signals.send_on_commit(
        signals.account_disconnected, StripeAccount, account=locked, by=by, status=locked.status
    )


def deauthorize(account: StripeAccount) -> StripeAccount:
    """Record that the account owner revoked or uninstalled the app at Stripe: stop forwarding
    its events, wipe its tokens. A second call changes nothing."""
    with transaction.atomic():
        locked = StripeAccount.objects.select_for_update().get(pk=account.pk)
        if locked.status != StripeAccount.Status.DEAUTHORIZED:
            end_connection(
                locked,
                StripeAccount.Status.DEAUTHORIZED,
                disconnected_at=locked.disconnected_at or timezone.now(),
            )
    return locked
