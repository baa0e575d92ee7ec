"""Money as a person reads it: an exact amount in its currency, in the active locale.

``$62,686.57`` in English, ``62.686,57 $`` in German, ``¥1,200`` for yen. The amount is
converted from minor units exactly (``ledger.currency.to_major``: Stripe's minor unit of
each currency, zero-decimal ones included) and is never rounded further: Babel's
``decimal_quantization=False`` keeps every digit even where the locale's own data gives a
currency fewer decimals than Stripe does. The locale is Django's active language (the
request's under ``LocaleMiddleware``), else ``LANGUAGE_CODE``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton
from babel.numbers import format_currency
from django.conf import settings
from django.utils import translation

from .ledger.currency import to_major


@lru_cache(maxsize=64)
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(translation.to_locale(language))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def current_locale() -> Locale:
    """The Babel locale of Django's active language (``LANGUAGE_CODE`` outside a request)."""
    return _locale(translation.get_language() or settings.LANGUAGE_CODE)


def format_money(minor: int, currency: str, locale: Locale | None = None) -> str:
    """An exact amount in minor units (cents; yen for JPY) with its currency's symbol."""
    code = (currency or "").upper()
    major = to_major(minor, code)
    if not code:
        return str(major)
    return format_currency(
        major, code, locale=locale or current_locale(), decimal_quantization=False
    )


@lru_cache(maxsize=64)
def _whole_pattern(locale: Locale) -> str:
    """The locale's currency pattern without its decimals (``¤#,##0.00`` → ``¤#,##0``)."""
    pattern = locale.currency_formats["standard"].pattern
    return re.sub(r"\.0+", "", pattern)


def format_whole(major: Decimal, currency: str, locale: Locale | None = None) -> str:
    """A whole amount in major units for a chart's axis (``$60,000``, ``60.000 €``)."""
    where = locale or current_locale()
    return format_currency(
        major, currency.upper(), format=_whole_pattern(where), locale=where, currency_digits=False
    )


def format_period(day, per: str, locale: Locale | None = None) -> str:
    """A chart period's label: ``Mar 12`` for a day, ``Mar 2026`` for a month (localised)."""
    return format_skeleton(
        "MMMd" if per == "day" else "yMMM", day, locale=locale or current_locale()
    )
