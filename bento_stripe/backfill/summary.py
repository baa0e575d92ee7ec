"""What the review page shows of a connection's ledger: money over time, and people with a value.

Read-only over the ledger; amounts stay integers in minor units until the chart scales
them to pixels. A refund or a lost dispute counts on its charge's day (the ledger keeps
a charge's cumulative refund, not each refund's date).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from django.db.models import Q, Sum

from ..ledger.currency import major_number
from ..ledger.mrr import PAYING
from ..models import LedgerCharge, LedgerDispute, LedgerSubscription, StripeAccount

#: Chart size in pixels (the SVG's viewBox).
WIDTH, HEIGHT = 640, 180
#: More days than this are shown per month.
DAYS_SHOWN = 62


@dataclass(frozen=True)
class Bar:
    """One period of the chart: label, amounts in minor units, and its SVG geometry."""

    label: str
    captured: int
    refunded: int
    net: int
    x: float = 0.0
    width: float = 0.0
    captured_y: float = 0.0
    captured_h: float = 0.0
    refunded_h: float = 0.0
    net_y: float = 0.0


@dataclass
class Money:
    """A connection's money over time in its main currency, ready to draw."""

    currency: str = ""
    per: str = "day"
    bars: list[Bar] = field(default_factory=list)
    captured: int = 0
    #: Refunded and lost in disputes.
    refunded: int = 0
    net: int = 0
    zero_y: float = HEIGHT / 2
    width: int = WIDTH
    height: int = HEIGHT
    #: Other currencies the account also has money in (not drawn: never converted).
    other_currencies: list[str] = field(default_factory=list)

    @property
    def net_points(self) -> str:
        return " ".join(f"{b.x + b.width / 2:.1f},{b.net_y:.1f}" for b in self.bars)

    def major(self, amount: int) -> object:
        return major_number(amount, self.currency)

    @property
    def totals(self) -> dict:
        return {
            "captured": self.major(self.captured),
            "refunded": self.major(self.refunded),
            "net": self.major(self.net),
        }


def _key(account: StripeAccount) -> dict:
    return {"stripe_account_id": account.stripe_user_id, "livemode": account.livemode}


def money(account: StripeAccount) -> Money:
    """Captured, refunded and net per day (or month, over longer spans) in the currency with
    the most money captured; a query per table, summed per day in the database."""
    key = _key(account)
    by_currency = (
        LedgerCharge.objects.filter(**key, captured__gt=0)
        .values("currency")
        .annotate(total=Sum("captured"))
        .order_by("-total", "currency")
    )
    currencies = [row["currency"] for row in by_currency]
    if not currencies:
        return Money()
    currency = currencies[0]
    days: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    rows = (
        LedgerCharge.objects.filter(**key, currency=currency)
        .filter(Q(captured__gt=0) | Q(refunded__gt=0))
        .values_list("charge_id", "created", "captured", "refunded")
    )
    created_of: dict[str, int] = {}
    for charge_id, created, captured, refunded in rows.iterator(chunk_size=2000):
        day = int(created) // 86400
        days[day][0] += captured
        days[day][1] += refunded
        created_of[charge_id] = day
    lost = LedgerDispute.objects.filter(**key, lost=True, currency=currency).values_list(
        "charge_id", "amount"
    )
    for charge_id, amount in lost.iterator(chunk_size=2000):
        if charge_id in created_of:
            days[created_of[charge_id]][2] += amount
    result = Money(currency=currency.upper(), other_currencies=[c.upper() for c in currencies[1:]])
    if not days:
        return result
    periods: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    span = max(days) - min(days) + 1
    result.per = "day" if span <= DAYS_SHOWN else "month"
    for day in sorted(days):
        when = _date(day)
        label = when.isoformat() if result.per == "day" else when.strftime("%Y-%m")
        for n in range(3):
            periods[label][n] += days[day][n]
    _draw(result, periods)
    return result


def _date(day: int) -> date:
    return datetime.fromtimestamp(day * 86400, tz=UTC).date()


def _draw(result: Money, periods: dict[str, list[int]]) -> None:
    """Scale the periods to the SVG: captured up, refunds and losses down, a net line."""
    labels = sorted(periods)
    top = max(max(c for c, _, _ in periods.values()), 1)
    bottom = max(max(r + lost for _, r, lost in periods.values()), 0)
    scale = (HEIGHT - 10) / (top + bottom)
    zero = 5 + top * scale
    step = WIDTH / len(labels)
    result.zero_y = zero
    for n, label in enumerate(labels):
        captured, refunded, lost = periods[label]
        out = refunded + lost
        net = captured - out
        result.captured += captured
        result.refunded += out
        result.net += net
        result.bars.append(
            Bar(
                label=label,
                captured=captured,
                refunded=out,
                net=net,
                x=n * step,
                width=max(step * 0.8, 1.0),
                captured_y=zero - captured * scale,
                captured_h=captured * scale,
                refunded_h=out * scale,
                net_y=zero - net * scale,
            )
        )


def people_with_value(account: StripeAccount) -> int:
    """People of the connection who paid something (a captured charge) or pay now (an active
    or past-due subscription)."""
    key = _key(account)
    paid = set(
        LedgerCharge.objects.filter(**key, captured__gt=0)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    paying = set(
        LedgerSubscription.objects.filter(**key, status__in=PAYING)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    return len(paid | paying)
