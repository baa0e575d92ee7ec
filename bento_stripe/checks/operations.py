"""System checks of operations settings (ids E040-E044, W020-W024): each names its key."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks

from ..conf import app_settings

#: Stripe retries a webhook for up to three days; a day more keeps each id deduped past it.
MIN_RETENTION_DAYS = 4

_POSITIVE = (
    "PRUNE_BATCH_SIZE",
    "HEALTH_MAX_EVENT_AGE",
    "HEALTH_MAX_DELIVERY_AGE",
    "HEALTH_MAX_RECONCILE_AGE",
)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@checks.register()
def check_operations_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E040 retention; E041 thresholds and batch size; E042 scraper addresses; W020 an
    allow-list open to the whole internet."""
    messages: list[checks.CheckMessage] = []
    days = app_settings.RETENTION_DAYS
    if not isinstance(days, int) or isinstance(days, bool) or days < MIN_RETENTION_DAYS:
        messages.append(
            checks.Error(
                f"settings.BENTO_STRIPE['RETENTION_DAYS'] must be a whole number of days, at "
                f"least {MIN_RETENTION_DAYS} (Stripe retries webhooks for 3 days; a pruned "
                f"event id must still be recognised); it is {days!r}.",
                id="bento_stripe.E040",
            )
        )
    for key in _POSITIVE:
        value = getattr(app_settings, key)
        if not _is_number(value) or value <= 0:
            messages.append(
                checks.Error(
                    f"settings.BENTO_STRIPE[{key!r}] must be a positive number; it is {value!r}.",
                    id="bento_stripe.E041",
                )
            )
    dead = app_settings.HEALTH_MAX_DEAD_DELIVERIES
    if not isinstance(dead, int) or isinstance(dead, bool) or dead < 0:
        messages.append(
            checks.Error(
                "settings.BENTO_STRIPE['HEALTH_MAX_DEAD_DELIVERIES'] must be a whole number, 0 "
                f"or more; it is {dead!r}.",
                id="bento_stripe.E041",
            )
        )
    # The value as given (not yet known to be a list): None once found unusable.
    allowed: list[str] | tuple[str, ...] | None = app_settings.METRICS_ALLOWED_IPS
    if not isinstance(allowed, list | tuple):
        allowed = None
    for entry in allowed or ():
        try:
            network = ipaddress.ip_network(str(entry), strict=False)
        except ValueError:
            allowed = None
            break
        if network.prefixlen == 0:
            messages.append(
                checks.Warning(
                    f"settings.BENTO_STRIPE['METRICS_ALLOWED_IPS'] contains {entry!r}: anyone "
                    "can read the metrics. List your scrapers' addresses instead.",
                    id="bento_stripe.W020",
                )
            )
    if allowed is None:
        messages.append(
            checks.Error(
                "settings.BENTO_STRIPE['METRICS_ALLOWED_IPS'] must be a list of IP addresses "
                f"or CIDR ranges; it is {app_settings.METRICS_ALLOWED_IPS!r}.",
                id="bento_stripe.E042",
            )
        )
    return messages
