"""The service layer: pages, admin, the REST API and commands change connections only here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import queue, signals
from .backfill import services as backfill
from .conf import app_settings
from .exceptions import AlreadyConnectedError, WrongTeamError
from .models import Reroute, SiteModel, StripeAccount, TeamModel
from .processing import disconnect as disconnection
from .redaction import Masked

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser


def change_site(
    account: StripeAccount,
    site: SiteModel,
    *,
    by: AbstractBaseUser | AnonymousUser | None = None,
) -> StripeAccount:
    """Route ``account``'s events to another ``site`` of its team, from the next event on.

    The people's values follow in a queued task (a ``Reroute`` row, committed with the
    change, so a lost task is run again by the processing sweep).
    """
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
        job = Reroute.objects.create(account=locked, old_site=old_site, new_site=site)
        queue.enqueue_on_commit(queue.REROUTE, job.pk, task_name=f"bento_stripe.reroute.{job.pk}")
        signals.send_on_commit(
            signals.account_site_changed,
            StripeAccount,
            account=locked,
            old_site=old_site,
            new_site=site,
            by=by,
        )
    account.site = site
    return locked


@sensitive_variables("access_token", "refresh_token", "tokens")
def connect_account(
    *,
    team: TeamModel,
    site: SiteModel,
    stripe_user_id: str,
    livemode: bool,
    scope: str = "",
    display_name: str = "",
    access_token: str = "",
    by: AbstractBaseUser | AnonymousUser | None = None,
    kind: str = StripeAccount.Kind.CONNECT,
    refresh_token: str = "",
    access_token_expires_at: datetime | None = None,
) -> tuple[StripeAccount, bool]:
    """Create, refresh or reactivate ``team``'s connection to a Stripe account; (account, created).

    ``livemode`` is the one of Stripe's token response. Refused with AlreadyConnectedError
    while another team has the account actively connected. ``kind`` is how it was made:
    a Connect connection's ``access_token`` is kept (encrypted) only when
    ``BENTO_STRIPE['STORE_ACCESS_TOKEN']`` is on; a Stripe App install keeps its token pair
    (encrypted) and its expiry, and is no longer "needs to be connected again". A
    connection made again with the other kind takes that kind (nothing else changes).
    """
    if site.team_id != team.pk:
        raise WrongTeamError(f"Site {site.name!r} belongs to another team than {team.name!r}.")
    app = kind == StripeAccount.Kind.APP
    if app and not (access_token and refresh_token and access_token_expires_at):
        raise ValueError("A Stripe App connection needs its access and refresh tokens and expiry.")
    # Masked: a DEBUG error page shows the repr of these locals.
    tokens = _Tokens(
        access=Masked(access_token if app or app_settings.STORE_ACCESS_TOKEN else ""),
        refresh=Masked(refresh_token if app else ""),
        expires_at=access_token_expires_at if app else None,
    )
    access_token, refresh_token = Masked(access_token), Masked(refresh_token)
    try:
        with transaction.atomic():
            account, created = _connect_locked(
                team, site, stripe_user_id, livemode, scope, display_name, kind, tokens, by
            )
            # The history follows in queued tasks, after the commit (BACKFILL_ON_CONNECT).
            backfill.start_on_connect(account)
    except IntegrityError as exc:
        # Another request connected the same account between our check and our write.
        raise AlreadyConnectedError(_taken_message(stripe_user_id)) from exc
    signals.send_on_commit(
        signals.account_connected, StripeAccount, account=account, by=by, created=created
    )
    return account, created


def _taken_message(stripe_user_id: str) -> str:
    return (
        f"The Stripe account {stripe_user_id} is already connected to another team. "
        "Ask that team to disconnect it first."
    )


@dataclass(frozen=True)
class _Tokens:
    """The tokens a connection keeps (never in a repr)."""

    access: str = field(repr=False)
    refresh: str = field(repr=False)
    expires_at: datetime | None


@sensitive_variables("tokens")
def _connect_locked(
    team: TeamModel,
    site: SiteModel,
    stripe_user_id: str,
    livemode: bool,
    scope: str,
    display_name: str,
    kind: str,
    tokens: _Tokens,
    by: AbstractBaseUser | AnonymousUser | None,
) -> tuple[StripeAccount, bool]:
    accounts = StripeAccount.objects.select_for_update().filter(stripe_user_id=stripe_user_id)
    if accounts.active().exclude(team=team).exists():
        raise AlreadyConnectedError(_taken_message(stripe_user_id))
    ours = accounts.filter(team=team, livemode=livemode)
    account = ours.active().first() or ours.order_by("-disconnected_at", "-pk").first()
    created = account is None
    if account is None:
        account = StripeAccount(team=team, stripe_user_id=stripe_user_id, livemode=livemode)
    account.site = site
    account.scope = scope
    account.display_name = display_name or account.display_name
    account.kind = kind
    account.access_token = tokens.access
    account.refresh_token = tokens.refresh
    account.access_token_expires_at = tokens.expires_at
    account.tokens_issued_at = timezone.now() if tokens.refresh else None
    account.needs_reconnect = False
    account.status = StripeAccount.Status.ACTIVE
    account.connected_by = by if getattr(by, "pk", None) else None
    account.connected_at = timezone.now()
    account.disconnected_at = None
    account.save()
    return account, created


def disconnect(
    account: StripeAccount, *, by: AbstractBaseUser | AnonymousUser | None = None
) -> StripeAccount:
    """Stop forwarding ``account``'s events now, wipe its tokens, and revoke the app at Stripe
    (deauthorize a Connect connection, uninstall a Stripe App) in the background."""
    with transaction.atomic():
        locked = StripeAccount.objects.select_for_update().get(pk=account.pk)
        if locked.status != StripeAccount.Status.ACTIVE:
            return locked
        disconnection.end_connection(
            locked, StripeAccount.Status.DISCONNECTED, disconnected_at=timezone.now(), by=by
        )
        # Stripe is called from the queue, after the commit: the page never waits on it.
        # A broker outage is logged and does not undo or fail the disconnect.
        queue.enqueue_on_commit(
            queue.DEAUTHORIZE, locked.pk, 1, task_name=f"bento_stripe_deauthorize_{locked.pk}"
        )
    account.status, account.disconnected_at = locked.status, locked.disconnected_at
    return locked
