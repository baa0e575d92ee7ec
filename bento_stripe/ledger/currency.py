"""Currency minor units, and converting exact minor amounts to JSON-safe major numbers."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

#: Currencies Stripe counts in whole units (https://docs.stripe.com/currencies#zero-decimal).
ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
#: Currencies Stripe counts in thousandths (https://docs.stripe.com/currencies#three-decimal).
THREE_DECIMAL = frozenset("bhd jod kwd omr tnd".split())


def exponent(currency: str) -> int:
    """How many decimal places Stripe's minor unit of ``currency`` has."""
    code = (currency or "").lower()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def round_half_up(value: Fraction | Decimal | int) -> int:
    """The nearest integer to an exact ``value``; halves go away from zero."""
    if isinstance(value, int):
        return int(value)  # the usual case (Stripe's amounts): nothing to round
    exact = Fraction(value)
    magnitude = (abs(exact) * 2 + 1) // 2
    return int(magnitude if exact >= 0 else -magnitude)


def to_major(minor: Fraction | Decimal | int, currency: str) -> Decimal:
    """``minor`` (an exact amount in minor units) in major units, rounded half-up once."""
    places = exponent(currency)
    return Decimal(round_half_up(minor)).scaleb(-places)


def json_number(value: Decimal) -> int | float:
    """A rounded Decimal as a JSON number: an int when whole, else the float with the same digits."""
    if value == value.to_integral_value():
        return int(value)
    # A Decimal with at most 3 places and < 2**53 round-trips through float's shortest repr.
    return float(value)


def major_number(minor: Fraction | Decimal | int, currency: str) -> int | float:
    """``minor`` of ``currency`` as the JSON number Bento receives."""
    return json_number(to_major(minor, currency))
