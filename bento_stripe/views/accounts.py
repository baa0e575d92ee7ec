"""A connection's review page, its Settings (site) and Disconnect."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from .. import services
from ..backfill import services as backfill
from ..backfill import summary
from ..exceptions import WrongTeamError
from ..history import connection_events, connection_rows
from ..models import OutboxEvent, StripeEventRecord
from .access import account_for
from .forms import SiteChoiceForm

#: Rows shown in each "last events" table of the review page.
RECENT = 10


def received_events(account) -> list[StripeEventRecord]:
    """The last Stripe events of ``account``'s own time, with how each was handled."""
    return list(connection_events(account)[:RECENT])


def delivered_events(account) -> list[OutboxEvent]:
    """The last Bento items written for ``account``'s events to its team's sites, any status."""
    return list(
        connection_rows(account).select_related("site").order_by("-created_at", "-pk")[:RECENT]
    )


@login_required
@require_GET
def account_review(request, team_id: int, pk: int):
    """The connection's site, Stripe account, who connected it, its recent events, and actions."""
    account, team, managing = account_for(request, team_id, pk)
    context = {
        "team": team,
        "account": account,
        "can_manage": managing,
        "backfill": backfill.state(account),
        "money": summary.money(account),
        "people_with_value": summary.people_with_value(account),
        "received": received_events(account),
        "delivered": delivered_events(account),
    }
    return render(request, "bento_stripe/account_review.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def account_settings(request, team_id: int, pk: int):
    """Choose another site of the team for the connection's events, from the next event on."""
    account, team, _managing = account_for(request, team_id, pk, manage=True)
    form = SiteChoiceForm(request.POST or None, team=team, initial_site=account.site)
    if request.method == "POST" and form.is_valid():
        try:
            services.change_site(account, form.cleaned_data["site"], by=request.user)
        except WrongTeamError as exc:  # the form offers the team's sites only; belt and braces
            form.add_error("site", str(exc))
        else:
            messages.success(
                request,
                _("Events of %(account)s now go to %(site)s.")
                % {"account": account, "site": form.cleaned_data["site"]},
            )
            return redirect("bento_stripe:account_review", team_id=team.pk, pk=account.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "bento_stripe/account_settings.html",
        {"team": team, "account": account, "form": form},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_disconnect(request, team_id: int, pk: int):
    """GET: ask for confirmation; POST: disconnect now and revoke the app at Stripe in the background."""
    account, team, _managing = account_for(request, team_id, pk, manage=True)
    if request.method == "POST":
        if account.is_active:
            services.disconnect(account, by=request.user)
            messages.success(
                request,
                _(
                    "%(account)s is disconnected: its events are recorded and no longer sent to Bento."
                )
                % {"account": account},
            )
        else:
            messages.info(request, _("This Stripe account was already disconnected."))
        return redirect("bento_stripe:account_review", team_id=team.pk, pk=account.pk)
    return render(
        request, "bento_stripe/account_disconnect.html", {"team": team, "account": account}
    )
