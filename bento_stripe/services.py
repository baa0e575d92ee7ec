"""The service layer: pages, admin, the REST API and commands change connections only here."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from . import signals
from .exceptions import WrongTeamError
from .models import Site, StripeAccount


def change_site(account: StripeAccount, site: Site, *, by=None) -> StripeAccount:
    """Route ``account``'s events to another ``site`` of its team, from the next event on."""
    if site.team_id != account.team_id:
        raise WrongTeamError(
            f"Site {site.name!r} belongs to another team than Stripe account "
            f"{account.stripe_user_id}: choose one of the team's own sites."
        )
    with transaction.atomic():
        locked = StripeAccount.objects.select_for_update().get(pk=account.pk)
        old_site = locked.site
        if old_site.pk == site.pk:
            return locked
        locked.site = site
        locked.save(update_fields=["site", "updated_at"])
        transaction.on_commit(
            lambda: signals.account_site_changed.send(
                sender=StripeAccount, account=locked, old_site=old_site, new_site=site, by=by
            )
        )
    account.site = site
    return locked


def mark_deauthorized(account: StripeAccount) -> StripeAccount:
    """Record that the account owner revoked the app at Stripe: stop forwarding its events."""
    with transaction.atomic():
        locked = StripeAccount.objects.select_for_update().get(pk=account.pk)
        if locked.status == StripeAccount.Status.DEAUTHORIZED:
            return locked
        locked.status = StripeAccount.Status.DEAUTHORIZED
        locked.disconnected_at = locked.disconnected_at or timezone.now()
        locked.access_token = ""
        locked.save(update_fields=["status", "disconnected_at", "access_token", "updated_at"])
        transaction.on_commit(
            lambda: signals.account_disconnected.send(
                sender=StripeAccount, account=locked, by=None, status=locked.status
            )
        )
    return locked
