"""What the review page shows of a connection's ledger: money over time, and people with a value.

Read-only over the ledger; amounts stay integers in minor units until they are formatted
for the currency and the reader's locale (``money_format``) or scaled to pixels. A refund or a lost dispute counts on its charge's day (the ledger keeps
a charge's cumulative refund, not each refund's date).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from ..ledger.currency import exponent
from ..ledger.mrr import PAYING
from ..models import LedgerCharge, LedgerDispute, LedgerSubscription, StripeAccount
from ..money_format import format_money, format_period, format_whole

#: Chart size in pixels (the SVG's viewBox), and the margins that hold the axes' labels.
WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 76, 8, 8, 26
#: More days than this are shown per month.
DAYS_SHOWN = 62
#: At most this many period labels under the chart (every n-th period otherwise).
X_LABELS = 8
#: About this many amounts along the vertical axis.
Y_TICKS = 4


@dataclass(frozen=True)
class Bar:
    """One period of the chart: its day, amounts in minor units, and its SVG geometry."""

    day: date
    captured: int
    refunded: int
    net: int
    x: float = 0.0
    width: float = 0.0
    captured_y: float = 0.0
    captured_h: float = 0.0
    refunded_h: float = 0.0
    net_y: float = 0.0
    #: What the bar says on hover (its SVG <title>): the period and its three amounts.
    title: str = ""


@dataclass(frozen=True)
class Tick:
    """A label on an axis: where (x or y in the viewBox) and what it reads."""

    at: float
    text: str


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
    zero_y: float = TOP + (HEIGHT - TOP - BOTTOM) / 2
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    #: The amounts along the vertical axis and the periods under the chart.
    y_ticks: list[Tick] = field(default_factory=list)
    x_labels: list[Tick] = field(default_factory=list)
    x_label_y: int = HEIGHT - 8
    #: Other currencies the account also has money in (not drawn: never converted).
    other_currencies: list[str] = field(default_factory=list)

    @property
    def net_points(self) -> str:
        return " ".join(f"{b.x + b.width / 2:.1f},{b.net_y:.1f}" for b in self.bars)

    def format(self, amount: int) -> str:
        return format_money(amount, self.currency)

    @property
    def totals(self) -> dict:
        """The three totals, formatted for the currency and the active locale."""
        return {
            "captured": self.format(self.captured),
            "refunded": self.format(self.refunded),
            "net": self.format(self.net),
        }

    @property
    def first(self) -> date | None:
        return self.bars[0].day if self.bars else None

    @property
    def last(self) -> date | None:
        return self.bars[-1].day if self.bars else None


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
    periods: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
    span = max(days) - min(days) + 1
    result.per = "day" if span <= DAYS_SHOWN else "month"
    for day in sorted(days):
        when = _date(day)
        period = when if result.per == "day" else when.replace(day=1)
        for n in range(3):
            periods[period][n] += days[day][n]
    _draw(result, periods)
    return result


def _date(day: int) -> date:
    return datetime.fromtimestamp(day * 86400, tz=UTC).date()


def _nice_step(span: int) -> int:
    """A step of 1, 2 or 5 times a power of ten (in minor units) that cuts ``span`` into about
    ``Y_TICKS`` parts."""
    rough = max(span / Y_TICKS, 1)
    power = 10 ** (len(str(int(rough))) - 1)
    for factor in (1, 2, 5, 10):
        if factor * power >= rough:
            return factor * power
    return 10 * power  # pragma: no cover - the loop always returns


def _draw(result: Money, periods: dict[date, list[int]]) -> None:
    """Scale the periods to the SVG: captured up, refunds and losses down, a net line; label
    the amounts on the left and the periods underneath."""
    days = sorted(periods)
    top = max(max(c for c, _, _ in periods.values()), 1)
    bottom = max(max(r + lost for _, r, lost in periods.values()), 0)
    plot_height = HEIGHT - TOP - BOTTOM
    scale = plot_height / (top + bottom)
    zero = TOP + top * scale
    step = (WIDTH - LEFT - RIGHT) / len(days)
    result.zero_y = zero
    every = max(1, -(-len(days) // X_LABELS))
    for n, day in enumerate(days):
        captured, refunded, lost = periods[day]
        out = refunded + lost
        net = captured - out
        result.captured += captured
        result.refunded += out
        result.net += net
        x = LEFT + n * step
        label = format_period(day, result.per)
        result.bars.append(
            Bar(
                day=day,
                captured=captured,
                refunded=out,
                net=net,
                x=x,
                width=max(step * 0.8, 1.0),
                captured_y=zero - captured * scale,
                captured_h=captured * scale,
                refunded_h=out * scale,
                net_y=zero - net * scale,
                title=_("%(period)s: captured %(captured)s, refunded or lost %(out)s, net %(net)s")
                % {
                    "period": label,
                    "captured": result.format(captured),
                    "out": result.format(out),
                    "net": result.format(net),
                },
            )
        )
        if n % every == 0:
            result.x_labels.append(Tick(x + step * 0.4, label))
    result.y_ticks = _y_ticks(result.currency, top, bottom, zero, scale)


def _y_ticks(currency: str, top: int, bottom: int, zero: float, scale: float) -> list[Tick]:
    """Round amounts from the lowest loss to the highest capture, zero included."""
    unit = 10 ** exponent(currency)
    tick = _nice_step(top + bottom)
    if tick >= unit:
        # Whole major units read without decimals (the axis, not an amount to the cent).
        tick = -(-tick // unit) * unit
    ticks = []
    value = -(bottom // tick) * tick
    while value <= top:
        text = (
            format_whole(Decimal(value // unit), currency)
            if tick >= unit
            else format_money(value, currency)
        )
        ticks.append(Tick(zero - value * scale, text))
        value += tick
    return ticks


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
