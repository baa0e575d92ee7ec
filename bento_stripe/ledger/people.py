"""A person's ledger rows on a site, their fields, and keeping ``Subscriber`` current."""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.db.models import Q

from ..models import (
    LedgerCharge,
    LedgerCustomer,
    LedgerDispute,
    LedgerSubscription,
    Site,
    StripeAccount,
    Subscriber,
)
from .parse import subscription_from_data
from .person import person_fields
from .shapes import Charge, Customer, Person


def routed_accounts(site: Site | int) -> list[tuple[str, bool]]:
    """(Stripe account id, livemode) of every active connection routed to ``site`` now."""
    site_id = site if isinstance(site, int) else site.pk
    return list(
        StripeAccount.objects.active()
        .filter(site_id=site_id)
        .values_list("stripe_user_id", "livemode")
    )


def _accounts_q(accounts: list[tuple[str, bool]]) -> Q:
    return reduce(or_, (Q(stripe_account_id=a, livemode=m) for a, m in accounts))


def load_person(site: Site | int, email: str) -> Person:
    """Everything the ledger knows of ``email`` over the accounts routed to ``site``."""
    accounts = routed_accounts(site)
    if not email or not accounts:
        return Person()
    where = _accounts_q(accounts) & Q(email=email)
    customers = tuple(
        Customer(id=c.customer_id, created=c.created, currency=c.currency, deleted=c.deleted)
        for c in LedgerCustomer.objects.filter(where)
    )
    charge_rows = list(LedgerCharge.objects.filter(where))
    lost: dict[tuple[str, bool, str], int] = {}
    if charge_rows:
        disputes = LedgerDispute.objects.filter(
            _accounts_q(accounts), lost=True, charge_id__in=[c.charge_id for c in charge_rows]
        )
        for d in disputes:
            key = (d.stripe_account_id, d.livemode, d.charge_id)
            lost[key] = lost.get(key, 0) + d.amount
    charges = tuple(
        Charge(
            id=c.charge_id,
            currency=c.currency,
            created=c.created,
            captured=c.captured,
            refunded=c.refunded,
            lost=lost.get((c.stripe_account_id, c.livemode, c.charge_id), 0),
        )
        for c in charge_rows
    )
    subscriptions = tuple(
        subscription_from_data(s.subscription_id, s.status, s.created, s.currency, s.data)
        for s in LedgerSubscription.objects.filter(where)
    )
    return Person(customers=customers, charges=charges, subscriptions=subscriptions)


def has_rows(person: Person) -> bool:
    """Whether the ledger knows anything of the person on the site."""
    return bool(person.customers or person.charges or person.subscriptions)


def refresh_subscriber(
    site: Site, email: str, *, keep_empty: bool = False
) -> tuple[dict | None, dict | None]:
    """Recompute ``email``'s fields on ``site`` and store them; returns (old, new) fields.

    A person the ledger no longer knows on the site (moved away by an email change) loses
    their ``Subscriber`` row and ``new`` is None, unless ``keep_empty`` (a re-route: Bento
    still has the person and must learn that their value there is now zero).
    """
    person = load_person(site, email)
    row = Subscriber.objects.select_for_update().filter(site=site, email=email).first()
    old = dict(row.fields) if row else None
    if not has_rows(person) and not (keep_empty and row is not None):
        if row is not None:
            row.delete()
        return old, None
    fields = person_fields(person)
    if row is None:
        Subscriber.objects.create(site=site, email=email, fields=fields)
    elif row.fields != fields:
        row.fields = fields
        row.save(update_fields=["fields", "updated_at"])
    return old, fields
