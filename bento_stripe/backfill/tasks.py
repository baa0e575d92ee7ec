"""django-q2 tasks of the backfill and reconciliation (names in ``bento_stripe.queue``)."""

from __future__ import annotations

from .. import queue
from ..conf import app_settings
from ..models import StripeAccount
from . import reconcile as reconciliation
from . import services


def backfill(account_id: int) -> str:
    """Task: page through an account's backfill for ``BACKFILL_TASK_BUDGET`` seconds, then
    hand over to a fresh task (memory and task time stay bounded)."""
    account = StripeAccount.objects.filter(pk=account_id).first()
    if account is None:
        return "gone"
    budget = None if queue.is_sync() else app_settings.BACKFILL_TASK_BUDGET
    outcome = services.run(account, budget=budget)
    if outcome == "more":
        queue.enqueue(queue.BACKFILL, account_id, task_name=f"bento_stripe.backfill.{account_id}")
    return outcome


def sweep() -> list[int]:
    """Task (every few minutes): resume backfills that failed or whose worker died."""
    ids = services.due_for_retry()
    for account_id in ids:
        queue.enqueue(queue.BACKFILL, account_id, task_name=f"bento_stripe.backfill.{account_id}")
    return ids


def reconcile() -> list[int]:
    """Task (nightly by default): queue a reconciliation of every active connection."""
    ids = list(StripeAccount.objects.active().order_by("pk").values_list("pk", flat=True))
    for account_id in ids:
        queue.enqueue(
            queue.RECONCILE_ACCOUNT, account_id, task_name=f"bento_stripe.reconcile.{account_id}"
        )
    return ids


def reconcile_account(account_id: int) -> str:
    """Task: reconcile one connection for ``BACKFILL_TASK_BUDGET`` seconds, then hand over."""
    account = StripeAccount.objects.active().filter(pk=account_id).first()
    if account is None:
        return "gone"
    budget = None if queue.is_sync() else app_settings.BACKFILL_TASK_BUDGET
    report = reconciliation.reconcile(account, budget=budget)
    if not report.finished:
        queue.enqueue(
            queue.RECONCILE_ACCOUNT, account_id, task_name=f"bento_stripe.reconcile.{account_id}"
        )
        return "more"
    return f"{len(report.corrections)} correction(s)"
