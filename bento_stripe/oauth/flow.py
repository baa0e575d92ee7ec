"""Connecting: send a team's manager to Stripe, then handle Stripe's callback.

Two kinds share the pages and the one callback URL: Connect OAuth (Stripe's authorize
page) and a Stripe App install (the app's install link of a mode). The signed state says
which kind and which mode a callback belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from .. import services
from ..conf import app_settings
from ..exceptions import (
    AlreadyConnectedError,
    ReconnectNeeded,
    RefreshInTransaction,
    StripeCallError,
)
from ..logs import get_logger
from ..models import SiteModel, StripeAccount, TeamModel, get_site_model
from ..policy import get_team_policy
from ..stripe_app import grants
from . import app_install as app_api
from . import client, state

logger = get_logger("bento_stripe.oauth")


def redirect_uri(request) -> str:
    """The one callback URL registered at Stripe: ``OAUTH_REDIRECT_URI``, else built from the request."""
    return app_settings.OAUTH_REDIRECT_URI or request.build_absolute_uri(
        reverse("bento_stripe:oauth_callback")
    )


def start(
    request,
    team: TeamModel,
    site: SiteModel,
    *,
    kind: str | None = None,
    livemode: bool | None = None,
) -> str:
    """The Stripe URL to send ``request.user`` to, with a fresh state for ``team``.

    ``kind`` defaults to ``STRIPE_INSTALL_KIND``; an app install goes to the install link of
    ``livemode`` (default: live when its link is configured, else test).
    """
    kind = kind or app_api.install_kind()
    if kind == app_api.KIND_APP:
        if livemode is None:
            livemode = bool(app_api.configured_link(True))
        value = state.issue(request, team_id=team.pk, site_id=site.pk, kind=kind, livemode=livemode)
        return app_api.install_url(
            livemode=livemode, redirect_uri=redirect_uri(request), state=value
        )
    value = state.issue(request, team_id=team.pk, site_id=site.pk)
    return client.authorize_url(
        redirect_uri=redirect_uri(request),
        state=value,
        email=getattr(request.user, "email", "") or "",
    )


@dataclass
class Outcome:
    """What the callback did, for the page that tells the user."""

    #: "connected", "cancelled", "invalid_state", "forbidden", "stripe_error", "taken".
    kind: str
    message: str
    status: int = 200
    team: TeamModel | None = None
    account: StripeAccount | None = None
    created: bool = False


@sensitive_variables("params", "code", "grant")
def finish(request) -> Outcome:
    """Check the state, exchange the code and connect the account; never raises for bad input."""
    params = request.GET
    try:
        bound = state.consume(request, params.get("state"))
    except state.InvalidState as exc:
        logger.warning("Stripe OAuth callback refused for user %s: %s", request.user.pk, exc)
        return Outcome(
            "invalid_state",
            _(
                "This connection link is not valid any more (it expired, was already used, "
                "or was started in another browser session). Please start again."
            ),
            status=400,
        )
    policy = get_team_policy()
    team = policy.teams(request.user, manage=True).filter(pk=bound.team_id).first()
    if team is None:
        logger.warning(
            "Stripe OAuth callback for team %s refused: user %s is not an owner or admin.",
            bound.team_id,
            request.user.pk,
            team=bound.team_id,
        )
        return Outcome(
            "forbidden",
            _("Only owners and admins of the team can connect a Stripe account."),
            status=403,
        )
    if params.get("error"):
        return _stripe_said_no(params.get("error"), team)
    code = params.get("code")
    if not code:
        return Outcome(
            "stripe_error", _("Stripe sent no authorization code. Please try again."), 400, team
        )
    sites = get_site_model().objects.filter(team=team).order_by("name", "pk")
    site = sites.filter(pk=bound.site_id).first() or sites.first()
    if site is None:
        return Outcome("stripe_error", _("Add a site to the team first."), 400, team)
    if bound.kind == app_api.KIND_APP:
        return _finish_app(request, team, site, code, bool(bound.livemode))
    try:
        grant = client.exchange_code(code)
    except StripeCallError as exc:
        logger.warning(
            "Stripe OAuth token exchange for team %s failed: %s", team.pk, exc, team=team.pk
        )
        return _failure(exc, team)
    try:
        display_name = client.account_display_name(grant.stripe_user_id)
    except StripeCallError as exc:
        # The code is spent and the account authorized: connect anyway, name it later.
        logger.warning(
            "Looking up Stripe account %s failed: %s",
            grant.stripe_user_id,
            exc,
            account=grant.stripe_user_id,
            team=team.pk,
        )
        display_name = ""
    try:
        account, created = services.connect_account(
            team=team,
            site=site,
            stripe_user_id=grant.stripe_user_id,
            livemode=grant.livemode,
            scope=grant.scope,
            display_name=display_name,
            access_token=grant.access_token,
            by=request.user,
        )
    except AlreadyConnectedError as exc:
        logger.warning("Team %s tried to connect a taken account: %s", team.pk, exc, team=team.pk)
        return Outcome("taken", str(exc), 409, team)
    logger.info(
        "Stripe account %s (%s) connected to team %s by user %s.",
        account.stripe_user_id,
        "live" if account.livemode else "test",
        team.pk,
        request.user.pk,
        account=account.stripe_user_id,
        team=team.pk,
    )
    return Outcome("connected", _("Stripe account connected."), 200, team, account, created)


@sensitive_variables("code", "grant")
def _finish_app(request, team: TeamModel, site: SiteModel, code: str, livemode: bool) -> Outcome:
    """A Stripe App install came back: exchange the code with the key of its mode, connect."""
    try:
        grant = grants.exchange_code(code, livemode=livemode)
    except StripeCallError as exc:
        logger.warning(
            "Stripe App token exchange for team %s failed: %s", team.pk, exc, team=team.pk
        )
        return _failure(exc, team)
    try:
        account, created = services.connect_account(
            team=team,
            site=site,
            stripe_user_id=grant.stripe_user_id,
            livemode=grant.livemode,
            scope=grant.scope,
            access_token=grant.access_token,
            refresh_token=grant.refresh_token,
            access_token_expires_at=grant.expires_at,
            kind=StripeAccount.Kind.APP,
            by=request.user,
        )
    except AlreadyConnectedError as exc:
        logger.warning("Team %s tried to connect a taken account: %s", team.pk, exc, team=team.pk)
        return Outcome("taken", str(exc), 409, team)
    try:
        name = app_api.account_display_name(account)
    except (StripeCallError, ReconnectNeeded, RefreshInTransaction) as exc:
        # The install is made: it goes unnamed (the id is shown), as for Connect.
        logger.warning(
            "Looking up Stripe account %s failed: %s",
            account.stripe_user_id,
            exc,
            account=account.stripe_user_id,
            team=team.pk,
        )
        name = ""
    if name and name != account.display_name:
        account.display_name = name
        account.save(update_fields=["display_name", "updated_at"])
    logger.info(
        "Stripe App installed on %s (%s) for team %s by user %s.",
        account.stripe_user_id,
        "live" if account.livemode else "test",
        team.pk,
        request.user.pk,
        account=account.stripe_user_id,
        team=team.pk,
    )
    return Outcome("connected", _("Stripe account connected."), 200, team, account, created)


def _stripe_said_no(error: str, team: TeamModel) -> Outcome:
    if error == "access_denied":
        return Outcome(
            "cancelled",
            _("You cancelled the connection at Stripe. Nothing was connected."),
            200,
            team,
        )
    safe = client.redact(error)[:64]
    logger.warning("Stripe OAuth for team %s returned error %r.", team.pk, safe, team=team.pk)
    return Outcome(
        "stripe_error",
        _("Stripe did not authorize the connection (%(error)s). Please try again.")
        % {"error": safe},
        400,
        team,
    )


def _failure(exc: StripeCallError, team: TeamModel) -> Outcome:
    if exc.kind == "invalid_grant":
        message = _(
            "Stripe did not accept the authorization (it may have expired or been used "
            "already). Please start again."
        )
        return Outcome("stripe_error", message, 400, team)
    if exc.transient:
        message = _("Stripe could not be reached or had an error. Please try again in a minute.")
        return Outcome("stripe_error", message, 502, team)
    message = _("Stripe refused the connection. Please try again, or contact support.")
    return Outcome("stripe_error", message, 400, team)
