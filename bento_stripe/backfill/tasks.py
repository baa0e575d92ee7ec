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
    budget = None if queue.is_sync() else float(app_settings.BACKFILL_TASK_BUDGET)
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


def reconcile() -> dict:
    """Task (nightly by default): reconcile every active connection."""
    results: dict[str, int | str] = {}
    for account in StripeAccount.objects.active().order_by("pk"):
        try:
            report = reconciliation.reconcile(account)
        except Exception as error:  # one account's trouble does not stop the others
            results[account.stripe_user_id] = f"failed: {type(error).__name__}"
            continue
        results[account.stripe_user_id] = len(report.corrections)
    return results
