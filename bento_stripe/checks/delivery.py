"""System checks of the queue layout, the delivery loop and the webhook endpoint cache
(ids E030-E032, E034, W010; the gathering seconds are E006's; ``docs/operations/scaling.rst`` explains the settings)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from ..conf import app_settings

KINDS = ("processing", "delivery", "backfill")


def _seconds(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


@checks.register()
def check_queues(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """QUEUES names kinds of work and django-q2 clusters that the settings define."""
    messages: list[checks.CheckMessage] = []
    queues = app_settings.QUEUES
    if not isinstance(queues, dict):
        return [
            checks.Error(
                "settings.BENTO_STRIPE['QUEUES'] must be a dict of kind of work → "
                "django-q2 cluster name.",
                id="bento_stripe.E030",
            )
        ]
    unknown = sorted(set(queues) - set(KINDS))
    if unknown:
        messages.append(
            checks.Error(
                f"settings.BENTO_STRIPE['QUEUES'] has unknown kinds {unknown}.",
                hint=f"The kinds are {', '.join(KINDS)}.",
                id="bento_stripe.E030",
            )
        )
    q_cluster = getattr(settings, "Q_CLUSTER", None) or {}
    known = {q_cluster.get("name"), q_cluster.get("cluster_name")}
    known |= set((q_cluster.get("ALT_CLUSTERS") or {}).keys())
    for kind, name in sorted(queues.items()):
        if name and name not in known:
            messages.append(
                checks.Warning(
                    f"settings.BENTO_STRIPE['QUEUES']['{kind}'] is {name!r}, which "
                    "Q_CLUSTER neither names nor lists in ALT_CLUSTERS.",
                    hint="Add it to Q_CLUSTER['ALT_CLUSTERS'] and run "
                    f"`Q_CLUSTER_NAME={name} manage.py qcluster`, or its tasks wait forever.",
                    id="bento_stripe.W010",
                )
            )
    return messages


@checks.register()
def check_delivery_loop(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The delivery loop's timings and the webhook endpoint cache."""
    messages: list[checks.CheckMessage] = []
    timeout = (getattr(settings, "Q_CLUSTER", None) or {}).get("timeout")
    budget = app_settings.DELIVERY_BUDGET
    if not _seconds(budget) or budget <= 0 or (timeout and budget >= timeout):
        messages.append(
            checks.Error(
                "settings.BENTO_STRIPE['DELIVERY_BUDGET'] must be a positive number of seconds "
                f"below Q_CLUSTER['timeout'] ({timeout}): django-q2 kills a task at its timeout.",
                id="bento_stripe.E031",
            )
        )
    linger, interval = app_settings.DELIVERY_LINGER, app_settings.DELIVERY_WAKE_INTERVAL
    if not (_seconds(linger) and _seconds(interval) and linger > 1.5 * interval):
        messages.append(
            checks.Error(
                "settings.BENTO_STRIPE['DELIVERY_LINGER'] must be longer than 1.5 times "
                "['DELIVERY_WAKE_INTERVAL']: commits within the interval wake no loop, and "
                "the loop woken before them must still be looking.",
                id="bento_stripe.E032",
            )
        )
    width = app_settings.DELIVERY_CONCURRENCY
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        messages.append(
            checks.Error(
                "settings.BENTO_STRIPE['DELIVERY_CONCURRENCY'] must be a whole number of sites "
                "(1 or more) one delivery loop sends to at once.",
                id="bento_stripe.E033",
            )
        )
    if not _seconds(app_settings.ENDPOINT_CACHE_SECONDS):
        messages.append(
            checks.Error(
                "settings.BENTO_STRIPE['ENDPOINT_CACHE_SECONDS'] must be seconds (0: no cache).",
                id="bento_stripe.E034",
            )
        )
    return messages
