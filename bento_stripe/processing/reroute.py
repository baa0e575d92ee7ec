"""Re-routes: a connection moved to another site; its people's values follow it.

The new site gets each person's whole value. The old site keeps the fields Bento
already has (nothing is sent there about the moved account), except for people who
still have a customer in another account routed to the old site: they are recomputed
over those accounts and sent.
"""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from ..ledger.people import account_emails, emails_on_other_accounts
from ..logs import get_logger
from ..models import Reroute
from .unit import UnitOfWork

logger = get_logger("bento_stripe.processing")

#: Attempts before a failing re-route is left for a human (shown in the admin).
MAX_ATTEMPTS = 10


def run(reroute_id: int) -> str:
    """Recompute a re-route's people (idempotent: a second run sends nothing new)."""
    job = (
        Reroute.objects.select_related("account", "old_site", "new_site")
        .filter(pk=reroute_id, finished_at__isnull=True)
        .first()
    )
    if job is None:
        return "done"
    try:
        with UnitOfWork(job.account, sites=[job.old_site, job.new_site]) as uow:
            emails = account_emails(uow.account)
            current = uow.sites[uow.account.site_id]
            # The site it is routed to now (a later re-route may have moved it again).
            uow.recompute(current, emails, send=f"reroute:{job.pk}:{current.pk}")
            if job.old_site.pk != current.pk:
                old = uow.sites[job.old_site.pk]
                shared = emails_on_other_accounts(old, uow.account, emails)
                uow.recompute(old, shared, send=f"reroute:{job.pk}:{old.pk}", keep_empty=True)
            Reroute.objects.filter(pk=job.pk).update(
                finished_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
            )
    except Exception as error:
        Reroute.objects.filter(pk=job.pk).update(
            attempts=F("attempts") + 1, last_error=f"{type(error).__name__}: {error}"[:2000]
        )
        logger.exception(
            "Re-route %s of %s failed", job.pk, job.account, account=job.account.stripe_user_id
        )
        raise
    return "recomputed"
