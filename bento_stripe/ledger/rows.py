"""The ledger rows behind people on their sites, read in bulk (for the REST API)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q

from ..models import LedgerCharge, LedgerDispute, LedgerSubscription, StripeAccount
from .people import accounts_q

#: A person on a site: (site id, lower-case email).
PersonKey = tuple[int, str]


@dataclass
class PersonRows:
    """A person's charges, disputes and subscriptions over the accounts routed to their site."""

    charges: list[LedgerCharge] = field(default_factory=list)
    disputes: list[LedgerDispute] = field(default_factory=list)
    subscriptions: list[LedgerSubscription] = field(default_factory=list)


def person_rows(people: Iterable[PersonKey]) -> dict[PersonKey, PersonRows]:
    """The ledger rows of each person, over the active connections routed to their site now.

    Four queries whatever the number of people (connections, charges, disputes,
    subscriptions): each account is routed to one site, so a row finds its person by
    its account and email.
    """
    wanted = {(site_id, email.lower()) for site_id, email in people}
    found: dict[PersonKey, PersonRows] = {key: PersonRows() for key in wanted}
    if not wanted:
        return found
    site_of = {
        (acct, livemode): site_id
        for site_id, acct, livemode in StripeAccount.objects.active()
        .filter(site_id__in={site_id for site_id, _ in wanted})
        .values_list("site_id", "stripe_user_id", "livemode")
    }
    if not site_of:
        return found
    where = accounts_q(site_of) & _emails_q(wanted)
    charge_owner: dict[tuple[str, bool, str], PersonKey] = {}
    for charge in LedgerCharge.objects.filter(where).order_by("created", "charge_id"):
        key = (site_of[(charge.stripe_account_id, charge.livemode)], charge.email)
        if key in found:
            found[key].charges.append(charge)
            charge_owner[(charge.stripe_account_id, charge.livemode, charge.charge_id)] = key
    for sub in LedgerSubscription.objects.filter(where).order_by("created", "subscription_id"):
        key = (site_of[(sub.stripe_account_id, sub.livemode)], sub.email)
        if key in found:
            found[key].subscriptions.append(sub)
    if charge_owner:
        disputes = LedgerDispute.objects.filter(
            accounts_q(site_of), charge_id__in={charge_id for _, _, charge_id in charge_owner}
        ).order_by("dispute_id")
        for dispute in disputes:
            owner = charge_owner.get(
                (dispute.stripe_account_id, dispute.livemode, dispute.charge_id)
            )
            if owner is not None:
                found[owner].disputes.append(dispute)
    return found


def _emails_q(wanted: set[PersonKey]) -> Q:
    return Q(email__in=sorted({email for _, email in wanted if email}))
