"""Receivers of the webhook package: re-routes recompute values; migrate creates the sweeper."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_migrate
from django.dispatch import receiver
from django.utils import timezone

from .. import signals
from ..ledger.people import refresh_subscriber
from ..models import (
    LedgerCharge,
    LedgerCustomer,
    LedgerSubscription,
    OutboxEvent,
    Site,
    StripeAccount,
)


def account_emails(account: StripeAccount) -> set[str]:
    """Every known email among the ledger rows of a connection."""
    where = {"stripe_account_id": account.stripe_user_id, "livemode": account.livemode}
    emails: set[str] = set()
    for model in (LedgerCustomer, LedgerCharge, LedgerSubscription):
        emails.update(
            model.objects.filter(**where).exclude(email="").values_list("email", flat=True)
        )
    return emails


def recompute_sites(account: StripeAccount, sites: list[Site]) -> set[int]:
    """Recompute the account's people on ``sites``; queue their new fields for Bento."""
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S.%f")
    emails = sorted(account_emails(account))
    site_ids: set[int] = set()
    changes = []
    with transaction.atomic():
        StripeAccount.objects.select_for_update().filter(pk=account.pk).first()
        for site in sites:
            Site.objects.select_for_update().filter(pk=site.pk).first()
            for email in emails:
                old, new = refresh_subscriber(site, email, keep_empty=True)
                if new is None or old == new:
                    continue
                OutboxEvent.objects.get_or_create(
                    site=site,
                    dedupe_key=f"site_changed:{account.pk}:{stamp}:{email}"[:255],
                    defaults={
                        "kind": OutboxEvent.Kind.SUBSCRIBER,
                        "event_type": "subscriber",
                        "email": email,
                        "payload": {"email": email, "fields": new},
                        "stripe_account_id": account.stripe_user_id,
                    },
                )
                site_ids.add(site.pk)
                changes.append((site, email, old, new))
        transaction.on_commit(lambda: _announce(site_ids, changes))
    return site_ids


def _announce(site_ids, changes) -> None:
    if site_ids:
        signals.outbox_ready.send(sender=OutboxEvent, site_ids=set(site_ids))
    for site, email, old, new in changes:
        signals.value_changed.send(
            sender=StripeAccount, site=site, email=email, old_fields=old, new_fields=new
        )


@receiver(signals.account_site_changed, dispatch_uid="bento_stripe.webhooks.site_changed")
def on_account_site_changed(sender, account, old_site, new_site, **kwargs):
    """lifetime_value is over the accounts routed to a site now: both sites' people change."""
    recompute_sites(account, [old_site, new_site])


@receiver(post_migrate, dispatch_uid="bento_stripe.webhooks.sweep_schedule")
def create_sweep_schedule(sender, app_config=None, **kwargs):
    """Make sure the sweeper's django-q2 schedule exists after ``migrate``."""
    if app_config is None or app_config.label != "bento_stripe":
        return
    from .tasks import ensure_sweep_schedule

    ensure_sweep_schedule()
