"""The chaos workload: Stripe Connect traffic of many shops, generated from a seed.

Pure Python, no Django: the model and the sender read it. Every object's events get
strictly increasing ``created`` times on one timeline that ends an hour before the run
starts, so Stripe's "current" state of an object (what the Stripe stand-in serves to
lookups) is its newest event's object, as it would be at Stripe.

Shape of a run (``build``): 3 teams, 5 sites, 12 accounts; several accounts share a site;
customers buy once or subscribe (trialing, active, upgrades, downgrades, quantity
changes, collection paused, status paused and resumed, past due, cancelled), pay in USD,
EUR or JPY, get refunded in part and in full, dispute (won or lost), fail payments,
change their email; some emails are used by customers of several accounts. One account
is re-routed to another site mid-run, one is disconnected mid-run. Noise the app must
ignore: live-mode events for test connections, events of an unknown account, unknown
event types and unreadable objects.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

API_VERSION = "2025-09-30.clover"
DAY = 86_400
HOUR = 3_600

#: (team, site) of each site, and the site each account is routed to at the start.
SITES = [(0, 0), (0, 1), (1, 2), (1, 3), (2, 4)]
ACCOUNT_SITES = [0, 0, 0, 1, 2, 2, 2, 3, 4, 4, 1, 3]
#: The account re-routed mid-run (site 0 → site 1, same team) and the one disconnected.
REROUTED, REROUTE_TO = 2, 1
DISCONNECTED = 11
#: Each account's currency (customers of an account pay in its currency).
ACCOUNT_CURRENCY = [
    "usd",
    "usd",
    "eur",
    "usd",
    "jpy",
    "usd",
    "eur",
    "usd",
    "usd",
    "eur",
    "jpy",
    "usd",
]
#: Plans per currency: (nickname, monthly unit amount in minor units).
PLANS = {
    "usd": [("Basic", 900), ("Pro", 2900), ("Team", 9900)],
    "eur": [("Basic", 800), ("Pro", 2500), ("Team", 8900)],
    "jpy": [("Basic", 1000), ("Pro", 3300), ("Team", 11000)],
}
#: One-off charge amounts per currency (minor units).
AMOUNTS = {"usd": (500, 25_000), "eur": (400, 20_000), "jpy": (500, 30_000)}


def account_id(i: int) -> str:
    return f"acct_chaos{i:02d}"


@dataclass
class Event:
    """One Stripe event of the workload."""

    id: str
    type: str
    account: str
    created: int
    obj: dict
    livemode: bool = False
    previous: dict | None = None
    #: Why the app must ignore it ("" for events it must apply).
    noise: str = ""

    def body(self) -> dict:
        data: dict = {"object": self.obj}
        if self.previous is not None:
            data["previous_attributes"] = self.previous
        return {
            "id": self.id,
            "object": "event",
            "api_version": API_VERSION,
            "type": self.type,
            "account": self.account,
            "livemode": self.livemode,
            "created": self.created,
            "data": data,
        }


@dataclass
class Workload:
    seed: int
    events: list[Event] = field(default_factory=list)
    #: (account, customer id) → the customer's events' objects are in ``events``.
    customers: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def by_id(self) -> dict[str, Event]:
        return {e.id: e for e in self.events}


class _Gen:
    def __init__(self, seed: int, n_events: int, end: int) -> None:
        self.r = random.Random(seed)
        self.n_events = n_events
        self.end = end
        #: The timeline: about 30 days, so a few minutes of delivery delay is hours late.
        self.start = end - 30 * DAY
        self.events: list[Event] = []
        self.counter = 0
        self.shared_emails = [f"shared{k}-{seed}@example.com" for k in range(40)]

    def uid(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_c{self.counter:07d}"

    def emit(self, type_: str, account: str, created: int, obj: dict, **kw) -> None:
        self.events.append(Event(self.uid("evt"), type_, account, created, obj, **kw))

    # --- one customer's life -------------------------------------------------------------
    def customer(self, acct_index: int, k: int) -> None:
        r = self.r
        account = account_id(acct_index)
        ccy = ACCOUNT_CURRENCY[acct_index]
        t = self.start + r.randrange(0, 25 * DAY)
        cus_id = self.uid("cus")
        special = acct_index in (REROUTED, DISCONNECTED)
        roll = r.random()
        if roll < 0.01:
            email = None  # Stripe customers may have no email: their events stay held
        elif roll < 0.12 and not special:
            email = r.choice(self.shared_emails)
        else:
            email = f"p{k}-{cus_id[4:]}@example.com"
        customer = {
            "id": cus_id,
            "object": "customer",
            "email": email,
            "currency": ccy,
            "created": t,
            "name": f"Customer {k}",
            "livemode": False,
        }
        self.emit("customer.created", account, t, dict(customer))
        subscriber = r.random() < 0.55
        if subscriber:
            t = self.subscription_life(account, ccy, customer, t)
        else:
            t = self.buyer_life(account, ccy, customer, t)
        unique = email is not None and not email.startswith("shared")
        if unique and not subscriber and not special and r.random() < 0.15:
            t += r.randrange(HOUR, 3 * DAY)
            new_email = f"moved{k}-{cus_id[4:]}@example.com"
            previous = {"email": customer["email"]}
            customer = {**customer, "email": new_email}
            self.emit("customer.updated", account, t, dict(customer), previous=previous)

    def charge(self, account: str, ccy: str, cus: dict, t: int, amount: int) -> dict:
        return {
            "id": self.uid("ch"),
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": 0,
            "captured": True,
            "paid": True,
            "refunded": False,
            "status": "succeeded",
            "currency": ccy,
            "customer": cus["id"],
            "created": t,
            "billing_details": {"email": None},
            "livemode": False,
        }

    def buyer_life(self, account: str, ccy: str, cus: dict, t: int) -> int:
        r = self.r
        for _ in range(r.randint(1, 3)):
            t += r.randrange(HOUR, 2 * DAY)
            lo, hi = AMOUNTS[ccy]
            amount = r.randrange(lo, hi)
            ch = self.charge(account, ccy, cus, t, amount)
            if r.random() < 0.12:
                failed = {
                    **ch,
                    "captured": False,
                    "paid": False,
                    "amount_captured": 0,
                    "status": "failed",
                    "failure_code": "card_declined",
                }
                self.emit("charge.failed", account, t, failed)
                continue
            self.emit("charge.succeeded", account, t, dict(ch))
            roll = r.random()
            if roll < 0.25:  # refunds: partial, maybe then the rest
                partial = max(1, amount * r.randint(10, 60) // 100)
                steps = [partial, amount] if r.random() < 0.5 else [partial]
                if r.random() < 0.3:
                    steps = [amount]
                for cumulative in steps:
                    t += r.randrange(HOUR, DAY)
                    refunded = {
                        **ch,
                        "amount_refunded": cumulative,
                        "refunded": cumulative == amount,
                    }
                    self.emit("charge.refunded", account, t, refunded)
            elif roll < 0.35:  # a dispute, won or lost
                dispute = {
                    "id": self.uid("dp"),
                    "object": "dispute",
                    "amount": amount,
                    "currency": ccy,
                    "charge": ch["id"],
                    "status": "needs_response",
                    "reason": "fraudulent",
                    "created": t,
                    "livemode": False,
                }
                t += r.randrange(HOUR, DAY)
                self.emit("charge.dispute.created", account, t, dict(dispute))
                t += r.randrange(DAY, 5 * DAY)
                closed = {**dispute, "status": r.choice(["won", "lost"])}
                self.emit("charge.dispute.closed", account, t, closed)
        return t

    def subscription_life(self, account: str, ccy: str, cus: dict, t: int) -> int:
        r = self.r
        plans = PLANS[ccy]
        plan = r.randrange(len(plans))
        yearly = r.random() < 0.2
        quantity = r.randint(1, 3)
        status = "trialing" if r.random() < 0.3 else "active"
        sub_id = self.uid("sub")
        pause: dict | None = None

        def obj(**changes) -> dict:
            nickname, monthly = plans[plan]
            unit = monthly * 10 if yearly else monthly
            price = {
                "id": f"price_{ccy}_{nickname.lower()}{'_y' if yearly else ''}",
                "object": "price",
                "nickname": nickname,
                "unit_amount": unit,
                "currency": ccy,
                "recurring": {"interval": "year" if yearly else "month", "interval_count": 1},
                "product": f"prod_{nickname.lower()}",
            }
            body = {
                "id": sub_id,
                "object": "subscription",
                "customer": cus["id"],
                "status": status,
                "currency": ccy,
                "created": created,
                "pause_collection": pause,
                "livemode": False,
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "id": f"si_{sub_id[4:]}",
                            "object": "subscription_item",
                            "quantity": quantity,
                            "price": price,
                        }
                    ],
                },
            }
            body.update(changes)
            return body

        created = t = t + r.randrange(60, HOUR)
        self.emit("customer.subscription.created", account, t, obj())
        for _ in range(r.randint(1, 6)):
            t += r.randrange(HOUR, 4 * DAY)
            step = r.random()
            if status == "canceled":
                break
            if status == "trialing":
                self.emit("customer.subscription.trial_will_end", account, t, obj())
                t += r.randrange(HOUR, DAY)
                status = "active"
                self.emit("customer.subscription.updated", account, t, obj())
                t = self.invoice(account, ccy, cus, t, plans[plan][1] * quantity, paid=True)
            elif status == "paused":
                status = "active"
                self.emit("customer.subscription.resumed", account, t, obj())
            elif step < 0.25:  # upgrade or downgrade
                plan = (plan + r.choice([1, -1])) % len(plans)
                self.emit("customer.subscription.updated", account, t, obj())
            elif step < 0.35:
                quantity = r.randint(1, 4)
                self.emit("customer.subscription.updated", account, t, obj())
            elif step < 0.45:  # collection paused, or resumed
                pause = None if pause else {"behavior": "void", "resumes_at": None}
                self.emit("customer.subscription.updated", account, t, obj())
            elif step < 0.52:
                status = "paused"
                self.emit("customer.subscription.paused", account, t, obj())
            elif step < 0.65:  # a failed renewal: past due, maybe paid later
                t = self.invoice(account, ccy, cus, t, plans[plan][1] * quantity, paid=False)
                status = "past_due"
                self.emit("customer.subscription.updated", account, t, obj())
                if r.random() < 0.5:
                    t = self.invoice(account, ccy, cus, t + HOUR, plans[plan][1] * quantity, True)
                    status = "active"
                    t += 60
                    self.emit("customer.subscription.updated", account, t, obj())
            elif step < 0.8:
                t = self.invoice(account, ccy, cus, t, plans[plan][1] * quantity, paid=True)
            else:
                status = "canceled"
                self.emit("customer.subscription.deleted", account, t, obj(ended_at=t))
        return t

    def invoice(self, account: str, ccy: str, cus: dict, t: int, amount: int, paid: bool) -> int:
        r = self.r
        inv_id = self.uid("in")
        ch = self.charge(account, ccy, cus, t, amount)
        ch["invoice"] = inv_id
        invoice = {
            "id": inv_id,
            "object": "invoice",
            "customer": cus["id"],
            "customer_email": cus["email"],
            "amount_due": amount,
            "amount_paid": amount if paid else 0,
            "currency": ccy,
            "status": "paid" if paid else "open",
            "created": t,
            "livemode": False,
        }
        if paid:
            self.emit("charge.succeeded", account, t, ch)
            t += r.randrange(1, 60)
            self.emit("invoice.paid", account, t, invoice)
        else:
            failed = {**ch, "captured": False, "paid": False, "amount_captured": 0}
            failed.update(status="failed", failure_code="card_declined")
            self.emit("charge.failed", account, t, failed)
            t += r.randrange(1, 60)
            self.emit("invoice.payment_failed", account, t, invoice)
        return t

    # --- noise the app must ignore -------------------------------------------------------
    def noise(self) -> None:
        r = self.r
        t = self.start + r.randrange(0, 29 * DAY)
        kind = r.randrange(4)
        account = account_id(r.randrange(len(ACCOUNT_SITES)))
        ch = self.charge(account, "usd", {"id": "cus_noise"}, t, 1000)
        if kind == 0:  # the other mode than the connection's
            self.emit("charge.succeeded", account, t, ch, livemode=True, noise="livemode")
        elif kind == 1:
            self.emit("charge.succeeded", "acct_chaosunknown", t, ch, noise="unknown account")
        elif kind == 2:
            self.emit(
                "payout.paid", account, t, {"id": self.uid("po"), "object": "payout"}, noise="type"
            )
        else:
            bad = {**ch, "amount": "10.00", "amount_captured": "10.00"}
            self.emit("charge.succeeded", account, t, bad, noise="unreadable")


def build(seed: int, n_events: int, end: int | None = None) -> Workload:
    """About ``n_events`` events (whole customer lives), sorted by ``created``."""
    end = int(time.time()) - HOUR if end is None else end
    gen = _Gen(seed, n_events, end)
    k = 0
    while len(gen.events) < n_events:
        gen.customer(gen.r.randrange(len(ACCOUNT_SITES)), k)
        if gen.r.random() < 0.02:
            gen.noise()
        k += 1
    events = [e for e in gen.events if e.created < end]
    events.sort(key=lambda e: (e.created, e.id))
    return Workload(seed=seed, events=events)


def current_objects(events: list[Event]) -> dict[tuple[str, str], dict]:
    """What Stripe holds now: each (account, object id)'s newest object (customers, charges)."""
    newest: dict[tuple[str, str], tuple[int, dict]] = {}
    for e in events:
        if e.noise or e.obj.get("object") not in ("customer", "charge"):
            continue
        key = (e.account, e.obj["id"])
        if key not in newest or e.created >= newest[key][0]:
            newest[key] = (e.created, e.obj)
    return {key: obj for key, (_, obj) in newest.items()}
