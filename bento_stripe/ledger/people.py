"""People's ledger rows on a site, their fields, and keeping ``Subscriber`` current, in bulk."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.db import connection
from django.db.models import Q
from django.db.models.functions import Collate
from django.utils import timezone

from ..models import (
    CatalogueProduct,
    LedgerCharge,
    LedgerCustomer,
    LedgerDispute,
    LedgerSubscription,
    SiteModel,
    StripeAccount,
    Subscriber,
)
from .parse import subscription_from_data
from .person import person_fields
from .rowcache import chunks
from .shapes import Charge, Customer, Person, Subscription
from .upsert import upsert


@dataclass(frozen=True)
class FieldChange:
    """A person's Bento fields on a site went from ``old`` to ``new`` (None: no row)."""

    site: SiteModel
    email: str
    old: dict | None
    new: dict | None
    #: Whether the person's ``mrr`` had been above 0 on the site before this change.
    had_mrr: bool = False


def routed_accounts(site: SiteModel | int) -> list[tuple[str, bool]]:
    """(Stripe account id, livemode) of every active connection routed to ``site`` now."""
    site_id = site if isinstance(site, int) else site.pk
    return list(
        StripeAccount.objects.active()
        .filter(site_id=site_id)
        .values_list("stripe_user_id", "livemode")
    )


def accounts_q(accounts: Iterable[tuple[str, bool]]) -> Q:
    """Ledger rows of any of ``accounts`` ((Stripe account id, livemode) pairs)."""
    return reduce(or_, (Q(stripe_account_id=a, livemode=m) for a, m in accounts))


#: The columns ``load_people`` reads of each ledger table (the first three of every one).
_ROW = ("stripe_account_id", "livemode", "email")
_CUSTOMER = ("customer_id", "created", "currency", "deleted", "data")
_CHARGE = ("charge_id", "currency", "created", "captured", "refunded")


def load_people(
    site: SiteModel | int, emails: Iterable[str], accounts: list[tuple[str, bool]] | None = None
) -> dict[str, Person]:
    """Everything the ledger knows of each email over the accounts routed to ``site``.

    One query per ledger table (per 500 emails), whatever the number of people.
    """
    wanted = sorted({e for e in emails if e})
    people: dict[str, Person] = {email: Person() for email in wanted}
    accounts = routed_accounts(site) if accounts is None else accounts
    if not wanted or not accounts:
        return people
    customers: dict[str, list[Customer]] = defaultdict(list)
    charges: dict[str, list[Charge]] = defaultdict(list)
    subscriptions: dict[str, list[Subscription]] = defaultdict(list)
    #: Each customer's stored data (its coupon, the discounts seen), by account and id.
    customer_data: dict[tuple[str, bool, str], dict] = {}
    subscription_rows: list[LedgerSubscription] = []
    for chunk in chunks(wanted):
        where = accounts_q(accounts) & Q(email__in=chunk)
        # Only the columns the fields need, as tuples: building model instances (and
        # parsing their timestamps) cost more than the queries on a backfill page.
        for (
            account_id,
            livemode,
            email,
            customer_id,
            created,
            currency,
            deleted,
            data,
        ) in LedgerCustomer.objects.filter(where).values_list(*_ROW, *_CUSTOMER):
            customer_data[(account_id, livemode, customer_id)] = data
            customers[email].append(
                Customer(id=customer_id, created=created, currency=currency, deleted=deleted)
            )
        charge_rows = list(LedgerCharge.objects.filter(where).values_list(*_ROW, *_CHARGE))
        lost: dict[tuple[str, bool, str], int] = defaultdict(int)
        if charge_rows:
            disputes = LedgerDispute.objects.filter(
                accounts_q(accounts), lost=True, charge_id__in={c[3] for c in charge_rows}
            ).values_list("stripe_account_id", "livemode", "charge_id", "amount")
            for account_id, livemode, charge_id, amount in disputes:
                lost[(account_id, livemode, charge_id)] += amount
        for (
            account_id,
            livemode,
            email,
            charge_id,
            currency,
            created,
            captured,
            refunded,
        ) in charge_rows:
            charges[email].append(
                Charge(
                    id=charge_id,
                    currency=currency,
                    created=created,
                    captured=captured,
                    refunded=refunded,
                    lost=lost.get((account_id, livemode, charge_id), 0),
                )
            )
        subscription_rows.extend(LedgerSubscription.objects.filter(where))
    names = product_names(subscription_rows, accounts)
    for s in subscription_rows:
        subscriptions[s.email].append(
            subscription_from_data(
                s.subscription_id,
                s.status,
                s.created,
                s.currency,
                s.data,
                customer_data.get((s.stripe_account_id, s.livemode, s.customer_id)),
                names.get((s.stripe_account_id, s.livemode), {}),
            )
        )
    for email in wanted:
        people[email] = Person(
            customers=tuple(customers[email]),
            charges=tuple(charges[email]),
            subscriptions=tuple(subscriptions[email]),
        )
    return people


def product_names(
    rows: list[LedgerSubscription], accounts: list[tuple[str, bool]]
) -> dict[tuple[str, bool], dict[str, str]]:
    """The catalogue's names of the products ``rows`` name, per (account, mode): one query
    (per 500 products), none when no row names a product."""
    wanted = sorted(
        {
            item["product"]
            for row in rows
            for item in (row.data.get("items") or [])
            if isinstance(item, dict) and item.get("product")
        }
    )
    names: dict[tuple[str, bool], dict[str, str]] = defaultdict(dict)
    for chunk in chunks(wanted):
        found = CatalogueProduct.objects.filter(accounts_q(accounts), product_id__in=chunk).exclude(
            name=""
        )
        for account_id, livemode, product_id, name in found.values_list(
            "stripe_account_id", "livemode", "product_id", "name"
        ):
            names[(account_id, livemode)][product_id] = name
    return names


def has_rows(person: Person) -> bool:
    """Whether the ledger knows anything of the person on the site."""
    return bool(person.customers or person.charges or person.subscriptions)


@dataclass
class Refreshed:
    """What ``refresh_people`` found: each person's fields now, and what changed."""

    fields: dict[str, dict]
    changes: list[FieldChange]
    #: What the ledger knows of each person now, and whether their ``mrr`` had been above
    #: 0 before (per-event ``$MrrChanged``: docs/reference/events.rst).
    people: dict[str, Person] = field(default_factory=dict)
    had_mrr: dict[str, bool] = field(default_factory=dict)


def refresh_people(
    site: SiteModel, emails: Iterable[str], *, keep_empty: bool = False
) -> Refreshed:
    """Recompute the fields of ``emails`` on ``site`` and store them; returns them and the changes.

    A person the ledger no longer knows on the site (moved away by an email change) loses
    their ``Subscriber`` row (``new`` is None), unless ``keep_empty`` (Bento still has the
    person and must learn that their value there is now zero). The caller holds the
    site's lock. A handful of queries, whatever the number of people.
    """
    wanted = sorted({e for e in emails if e})
    if not wanted:
        return Refreshed({}, [])
    people = load_people(site, wanted)
    #: email → (primary key, stored fields, had_mrr) of the people's rows on the site,
    #: read as tuples (no model instances).
    existing: dict[str, tuple[int, dict, bool]] = {}
    for chunk in chunks(wanted):
        stored = Subscriber.objects.filter(site=site, email__in=chunk)
        existing.update(
            (email, (pk, stored_fields, had))
            for pk, email, stored_fields, had in stored.values_list(
                "pk", "email", "fields", "had_mrr"
            )
        )
    now = timezone.now()
    changes: list[FieldChange] = []
    had_mrr: dict[str, bool] = {}
    now_fields: dict[str, dict] = {}
    written: list[Subscriber] = []
    removed: list[int] = []
    for email in wanted:
        person, row = people[email], existing.get(email)
        old = dict(row[1]) if row else None
        if not has_rows(person) and not (keep_empty and row is not None):
            if row is not None:
                removed.append(row[0])
                changes.append(FieldChange(site, email, old, None))
            continue
        fields = person_fields(person)
        now_fields[email] = fields
        had = bool(row and row[2])
        had_mrr[email] = had
        paying = _paying(fields)
        if row is None or old != fields or (paying and not had):
            written.append(
                Subscriber(
                    site=site, email=email, fields=fields, had_mrr=had or paying, updated_at=now
                )
            )
        if old != fields:
            changes.append(FieldChange(site, email, old, fields, had))
    if removed:
        # Before the upsert: a person removed here is never one written (no rows).
        Subscriber.objects.filter(pk__in=removed).delete()
    if written:
        # New and changed rows alike in one upsert on (site, email): bulk_update's CASE
        # per row and column cost more than the rest of a backfill page.
        upsert(
            Subscriber,
            written,
            unique=["site", "email"],
            update=["fields", "updated_at", "had_mrr"],
        )
    return Refreshed(now_fields, changes, people, had_mrr)


def _paying(fields: dict) -> bool:
    """Whether fields show an ``mrr`` above 0 (in the person's main currency)."""
    mrr = fields.get("mrr")
    return isinstance(mrr, int | float) and mrr > 0


def account_emails(account: StripeAccount) -> set[str]:
    """Every known email among the ledger rows of a connection."""
    where = {"stripe_account_id": account.stripe_user_id, "livemode": account.livemode}
    emails: set[str] = set()
    for model in (LedgerCustomer, LedgerCharge, LedgerSubscription):
        emails.update(
            model.objects.filter(**where).exclude(email="").values_list("email", flat=True)
        )
    return emails


def account_emails_after(account: StripeAccount, after: str, limit: int) -> list[str]:
    """The first ``limit`` emails after ``after`` (in order) among the connection's ledger
    rows: a page of its people, one query per ledger table.

    The order is by code point, in the database as in Python: the three tables' pages are
    merged and cut here, and the last email is the next page's ``after``. A database
    collation that orders otherwise (``en_US``: ``a_b@`` before ``a.b@``) would make a
    page skip the emails between the two orders.
    """
    where = {"stripe_account_id": account.stripe_user_id, "livemode": account.livemode}
    found: set[str] = set()
    for model in (LedgerCustomer, LedgerCharge, LedgerSubscription):
        rows = model.objects.filter(**where)
        if connection.vendor == "postgresql":  # SQLite's default (BINARY) is that order
            rows = rows.annotate(key=Collate("email", "C")).filter(key__gt=after)
            rows = rows.order_by("key")
        else:
            rows = rows.filter(email__gt=after).order_by("email")
        # Each table's first ``limit`` hold every one of the first ``limit`` of all three.
        found.update(rows.values_list("email", flat=True).distinct()[:limit])
    return sorted(found)[:limit]


def emails_on_other_accounts(
    site: SiteModel, account: StripeAccount, emails: Iterable[str]
) -> set[str]:
    """Which of ``emails`` have ledger rows in another account routed to ``site`` now."""
    others = [
        pair for pair in routed_accounts(site) if pair != (account.stripe_user_id, account.livemode)
    ]
    wanted = sorted({e for e in emails if e})
    if not others or not wanted:
        return set()
    found: set[str] = set()
    for chunk in chunks(wanted):
        where = accounts_q(others) & Q(email__in=chunk)
        for model in (LedgerCustomer, LedgerCharge, LedgerSubscription):
            found.update(model.objects.filter(where).values_list("email", flat=True))
    return found
