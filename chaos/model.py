"""The independent model: what Bento must hold after the workload, from the documented field rules (docs).

Deliberately separate from the app (no import of ``bento_stripe``): a small computation
over the workload's events of each person's final fields per site, the Bento event each
Stripe event must give, and the value each charge and dispute must carry in Bento.
Integers in minor units and Fractions; numbers become Decimal only when rounded once.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from .workload import (
    ACCOUNT_SITES,
    DISCONNECTED,
    REROUTE_TO,
    REROUTED,
    Event,
    account_id,
)

ZERO_DECIMAL = {"jpy", "krw", "vnd", "clp", "xof", "xaf", "bif", "djf", "gnf", "kmf", "mga"}
PAYING = {"active", "past_due"}
CURRENT = {"active", "past_due", "trialing"}
MONTHS = {"month": Fraction(1), "year": Fraction(1, 12)}


def bento_type(stripe_type: str) -> str:
    """``charge.dispute.closed`` → ``$ChargeDisputeClosed``."""
    return "$" + "".join(w[:1].upper() + w[1:] for w in re.split(r"[._]", stripe_type) if w)


def major(minor: Fraction | int, currency: str) -> Decimal:
    """Minor units rounded half-up once to the currency's minor unit, in major units."""
    exponent = 0 if currency.lower() in ZERO_DECIMAL else 2
    q = Fraction(minor)
    sign = -1 if q < 0 else 1
    whole = int(abs(q) + Fraction(1, 2))  # half-up, away from zero
    return Decimal(sign * whole).scaleb(-exponent)


def iso(created: int) -> str:
    """UTC ISO time of a UNIX time, "" for none (``last_purchase_at``)."""
    if not created:
        return ""
    return datetime.fromtimestamp(created, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Sub:
    id: str
    customer: str
    status: str
    created: int
    currency: str
    items: list[tuple[str, int, str, int]]  # (nickname, unit amount, interval, quantity)
    paused_collection: bool
    #: Product ids of its items (the stand-in knows no product: fields name them by id).
    products: tuple[str, ...] = ()

    def mrr(self) -> Fraction:
        if self.status not in PAYING or self.paused_collection:
            return Fraction(0)
        return sum(
            (Fraction(unit * qty) * MONTHS[interval] for _, unit, interval, qty in self.items),
            Fraction(0),
        )


@dataclass
class _Charge:
    currency: str
    customer: str
    captured: int = 0
    refunded: int = 0
    lost: int = 0
    created: int = 0


@dataclass
class Ledger:
    """The newest state of every object of one account, from a set of its events."""

    customers: dict[str, dict] = field(default_factory=dict)
    charges: dict[str, _Charge] = field(default_factory=dict)
    subs: dict[str, _Sub] = field(default_factory=dict)
    _by_email: dict[str, list[str]] | None = None
    _by_customer: dict[str, tuple[list[_Charge], list[_Sub]]] | None = None

    @classmethod
    def of(cls, events: Iterable[Event]) -> Ledger:
        ledger = cls()
        newest: dict[str, tuple[int, str, dict]] = {}
        disputes: dict[str, tuple[str, int, bool]] = {}
        for e in events:
            if e.noise:
                continue
            obj = e.obj
            kind = obj.get("object")
            if kind in ("customer", "subscription"):
                seen = newest.get(obj["id"])
                if seen is None or (e.created, e.id) > seen[:2]:
                    newest[obj["id"]] = (e.created, e.id, obj)
            elif kind == "charge":
                ch = ledger.charges.setdefault(
                    obj["id"],
                    _Charge(obj["currency"], obj["customer"], created=obj.get("created") or 0),
                )
                ch.captured = max(ch.captured, obj["amount_captured"] if obj["captured"] else 0)
                ch.refunded = max(ch.refunded, obj["amount_refunded"])
            elif kind == "dispute":
                charge_id, amount, lost = disputes.get(obj["id"], (obj["charge"], 0, False))
                disputes[obj["id"]] = (
                    charge_id,
                    max(amount, obj["amount"]),
                    lost or obj["status"] == "lost",
                )
        for _, _, obj in newest.values():
            if obj["object"] == "customer":
                ledger.customers[obj["id"]] = obj
            else:
                ledger.subs[obj["id"]] = _Sub(
                    obj["id"],
                    obj["customer"],
                    obj["status"],
                    obj["created"],
                    obj["currency"],
                    [
                        (
                            it["price"]["nickname"],
                            it["price"]["unit_amount"],
                            it["price"]["recurring"]["interval"],
                            it["quantity"],
                        )
                        for it in obj["items"]["data"]
                    ],
                    bool(obj.get("pause_collection")),
                    tuple(p for it in obj["items"]["data"] if (p := it["price"].get("product"))),
                )
        for charge_id, amount, lost in disputes.values():
            if lost and charge_id in ledger.charges:
                ledger.charges[charge_id].lost += amount
        return ledger

    def by_email(self) -> dict[str, list[str]]:
        """email → its customers' ids (computed once; the ledger is not changed after)."""
        if self._by_email is None:
            self._by_email = defaultdict(list)
            for cid, cus in self.customers.items():
                if cus.get("email"):
                    self._by_email[cus["email"]].append(cid)
        return self._by_email

    def by_customer(self) -> dict[str, tuple[list[_Charge], list[_Sub]]]:
        """customer id → its charges and subscriptions (computed once)."""
        if self._by_customer is None:
            self._by_customer = defaultdict(lambda: ([], []))
            for ch in self.charges.values():
                self._by_customer[ch.customer][0].append(ch)
            for sub in self.subs.values():
                self._by_customer[sub.customer][1].append(sub)
        return self._by_customer

    def email(self, customer_id: str) -> str | None:
        cus = self.customers.get(customer_id)
        return (cus or {}).get("email") or None


def person_fields(ledgers: list[Ledger], email: str) -> dict:
    """The flat fields of ``email`` over the ledgers of the accounts routed to one site."""
    customers, charges, subs = [], [], []
    for ledger in ledgers:
        mine = set(ledger.by_email().get(email, ()))
        customers += [ledger.customers[c] for c in mine]
        owned = ledger.by_customer()
        for cid in mine:
            charges += owned[cid][0]
            subs += owned[cid][1]
    newest = max(customers, key=lambda c: (c["created"], c["id"]))
    main_ccy = newest["currency"]
    net: dict[str, int] = defaultdict(int)
    for ch in charges:
        net[ch.currency] += ch.captured - ch.refunded - ch.lost
    mrr: dict[str, Fraction] = defaultdict(Fraction)
    for s in subs:
        mrr[s.currency] += s.mrr()
    current = [s for s in subs if s.status in CURRENT]
    if current:
        main = max(current, key=lambda s: (s.mrr(), s.created, s.id))
    elif subs:
        main = max(subs, key=lambda s: (s.created, s.id))
    else:
        main = None
    fields: dict = {
        "lifetime_value": major(net.get(main_ccy, 0), main_ccy),
        "currency": main_ccy.upper(),
        "mrr": major(mrr.get(main_ccy, Fraction(0)), main_ccy),
        "plan": ", ".join(item[0] for item in main.items) if main else "",
        "subscription_status": main.status if main else "",
        "stripe_customer_id": newest["id"],
        "products": ", ".join(sorted({p for s in current for p in s.products})),
        "purchases": sum(1 for ch in charges if ch.captured > 0),
        "last_purchase_at": iso(max((ch.created for ch in charges if ch.captured > 0), default=0)),
    }
    for ccy, amount in net.items():
        if ccy != main_ccy:
            fields[f"lifetime_value_{ccy}"] = major(amount, ccy)
    for ccy, amount in mrr.items():
        if ccy != main_ccy:
            fields[f"mrr_{ccy}"] = major(amount, ccy)
    return fields


@dataclass
class Expected:
    """What Bento must hold at quiet."""

    #: site index → email → fields (Decimals for numbers).
    fields: dict[int, dict[str, dict]]
    #: site index → emails that may be absent (people frozen by a re-route or disconnect
    #: whose email no event told before it).
    optional: dict[int, set[str]]
    #: site index → emails that must not be there (moved away by an email change).
    absent: dict[int, set[str]]
    #: Stripe event id → (site index, Bento type), for events that must reach Bento.
    events: dict[str, tuple[int, str]]
    #: Stripe event ids that may reach Bento or not (held when a re-route or disconnect came).
    maybe: set[str]
    #: Stripe event ids that must never reach Bento, with the reason.
    never: dict[str, str]
    #: object id (charge or dispute) → (currency, minor units): the value Bento must count
    #: (objects a ``maybe`` event touched are left out).
    values: dict[str, tuple[str, int]]
    #: Every unique.key a value may come under.
    keys: set[str]
    #: email → the event ids of the person (for a report of a diverging person).
    person_events: dict[str, list[str]]
    #: Emails whose fields may move without a ``$MrrChanged`` (a re-route or a disconnect
    #: sets or freezes them, an email change carries them over): their moves need not
    #: chain from 0 to their MRR. Everyone else's must.
    unchained: set[str] = field(default_factory=set)


def expect(events: list[Event], before_reroute: set[str], before_disconnect: set[str]) -> Expected:
    """The expected end state, given which events were accepted before the re-route and the
    disconnect (each happened at a quiet point of those accounts)."""
    by_account: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        by_account[e.account].append(e)
    n_accounts = len(ACCOUNT_SITES)
    ledgers = {account_id(i): Ledger.of(by_account[account_id(i)]) for i in range(n_accounts)}
    rerouted, disconnected = account_id(REROUTED), account_id(DISCONNECTED)
    final_site = {account_id(i): s for i, s in enumerate(ACCOUNT_SITES)}
    final_site[rerouted] = REROUTE_TO
    frozen = {
        (ACCOUNT_SITES[REROUTED], rerouted): Ledger.of(
            e for e in by_account[rerouted] if e.id in before_reroute
        ),
        (ACCOUNT_SITES[DISCONNECTED], disconnected): Ledger.of(
            e for e in by_account[disconnected] if e.id in before_disconnect
        ),
    }
    fields: dict[int, dict[str, dict]] = defaultdict(dict)
    optional: dict[int, set[str]] = defaultdict(set)
    absent: dict[int, set[str]] = defaultdict(set)
    for site in set(ACCOUNT_SITES):
        routed = [ledgers[a] for a, s in final_site.items() if s == site and a != disconnected]
        emails = {c.get("email") for led in routed for c in led.customers.values()} - {None}
        for email in emails:
            fields[site][email] = person_fields(routed, email)
    for (site, account), ledger in frozen.items():
        accepted = before_reroute if account == rerouted else before_disconnect
        told = _told(by_account[account], accepted)
        # A customer named by an accepted event but told by none was looked up at Stripe
        # (its current state), unless the lookup failed: then the person may be missing.
        full = ledgers[account]
        for e in by_account[account]:
            if e.id not in accepted:
                continue
            cid = _customer_of(e, full)
            if cid in full.customers and cid not in ledger.customers:
                ledger.customers[cid] = full.customers[cid]
            # A dispute naming a charge no accepted event told: the charge was looked up
            # (its current state at Stripe).
            charge_id = e.obj.get("charge") if e.obj.get("object") == "dispute" else None
            if charge_id in full.charges and charge_id not in ledger.charges:
                ch = full.charges[charge_id]
                ledger.charges[charge_id] = _Charge(
                    ch.currency, ch.customer, ch.captured, ch.refunded, created=ch.created
                )
                if e.obj["status"] == "lost":
                    ledger.charges[charge_id].lost += e.obj["amount"]
        for cid, cus in ledger.customers.items():
            email = cus.get("email")
            if email:
                fields[site][email] = person_fields([ledger], email)
                if cid not in told:
                    optional[site].add(email)
    # Old emails of customers whose email changed: Bento moved them (change_email).
    for account in ledgers:
        site = final_site[account]
        for e in by_account[account]:
            if e.type == "customer.updated" and e.previous and e.previous.get("email"):
                old = e.previous["email"]
                if old not in fields[site]:
                    absent[site].add(old)
    unchained = {e for emails in optional.values() for e in emails}
    for e in events:
        if e.obj.get("object") != "customer":
            continue
        moved = e.type == "customer.updated" and e.previous and e.previous.get("email")
        if e.account in (rerouted, disconnected) or moved:
            unchained |= {e.obj.get("email"), (e.previous or {}).get("email")} - {None}
    # Events.
    expected_events: dict[str, tuple[int, str]] = {}
    maybe: set[str] = set()
    never: dict[str, str] = {}
    person_events: dict[str, list[str]] = defaultdict(list)
    told_before_disconnect = _told(by_account[disconnected], before_disconnect)
    for e in events:
        if e.noise:
            never[e.id] = f"ignored ({e.noise})"
            continue
        ledger = ledgers[e.account]
        customer = _customer_of(e, ledger)
        email = ledger.email(customer)
        if email:
            person_events[email].append(e.id)
        if email is None:
            never[e.id] = "held: the customer has no email"
            continue
        index = int(e.account[-2:])
        if e.account == disconnected and e.id not in before_disconnect:
            never[e.id] = "after the disconnect"
            continue
        if e.account == rerouted:
            site = ACCOUNT_SITES[REROUTED] if e.id in before_reroute else REROUTE_TO
        else:
            site = ACCOUNT_SITES[index]
        expected_events[e.id] = (site, bento_type(e.type))
        if e.account == disconnected and e.id in before_disconnect:
            # Held when the disconnect came (no lookup answered): skipped, never sent.
            if customer not in told_before_disconnect:
                maybe.add(e.id)
    values: dict[str, tuple[str, int]] = {}
    refunded: dict[str, int] = {}
    keys: set[str] = set()
    uncertain = {e.obj.get("charge") or e.obj["id"] for e in events if e.id in maybe}
    for e in events:
        obj = e.obj
        if e.id in never:
            continue
        if (obj.get("charge") or obj.get("id")) in uncertain:
            # May or may not have reached Bento: its keys are possible, its sum unchecked.
            if e.type == "charge.succeeded":
                keys.add(obj["id"])
            elif e.type == "charge.refunded":
                keys.add(f"{obj['id']}:refunded:{obj['amount_refunded']}")
            elif e.type == "charge.dispute.closed":
                keys.add(f"{obj['id']}:lost")
            continue
        if e.type == "charge.succeeded" and obj["captured"]:
            values[obj["id"]] = (obj["currency"].upper(), obj["amount_captured"])
            keys.add(obj["id"])
        elif e.type == "charge.refunded":
            keys.add(f"{obj['id']}:refunded:{obj['amount_refunded']}")
            refunded[obj["id"]] = max(refunded.get(obj["id"], 0), obj["amount_refunded"])
        elif e.type == "charge.dispute.closed" and obj["status"] == "lost":
            values[obj["id"]] = (obj["currency"].upper(), -obj["amount"])
            keys.add(f"{obj['id']}:lost")
    for charge_id, amount in refunded.items():
        if charge_id in values:
            ccy, captured = values[charge_id]
            values[charge_id] = (ccy, captured - amount)
    return Expected(
        fields=dict(fields),
        optional=dict(optional),
        absent=dict(absent),
        events=expected_events,
        maybe=maybe,
        never=never,
        values=values,
        keys=keys,
        person_events=dict(person_events),
        unchained=unchained,
    )


def _customer_of(e: Event, ledger: Ledger) -> str:
    obj = e.obj
    if obj.get("object") == "customer":
        return obj["id"]
    if obj.get("object") == "dispute":
        ch = ledger.charges.get(obj["charge"])
        return ch.customer if ch else ""
    return obj.get("customer") or ""


def _told(events: list[Event], accepted: set[str]) -> set[str]:
    """Customers whose email an accepted event told (a customer event, an invoice's email)."""
    told = set()
    for e in events:
        if e.id not in accepted:
            continue
        if e.obj.get("object") == "customer" and e.obj.get("email"):
            told.add(e.obj["id"])
        elif e.obj.get("object") == "invoice" and e.obj.get("customer_email"):
            told.add(e.obj["customer"])
    return told
