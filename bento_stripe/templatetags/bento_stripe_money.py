"""``{% load bento_stripe_money %}``: ``{{ amount|money:currency }}`` formats an exact amount
in minor units for its currency and the active locale (``$62,686.57``, ``¥1,200``)."""

from __future__ import annotations

from django import template

from ..money_format import format_money

register = template.Library()


@register.filter
def money(minor: int | None, currency: str) -> str:
    """``{{ 6268657|money:"usd" }}`` → ``$62,686.57`` (empty for None)."""
    if minor is None or minor == "":
        return ""
    return format_money(int(minor), currency)
