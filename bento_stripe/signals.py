"""Signals sent by bento-stripe. Receivers take ``**kwargs``; senders pass keyword arguments.

They are for host projects: the app's own parts never listen to them. Every signal is sent
through :func:`send_robust` (most of them after commit, with :func:`send_on_commit`), so a
receiver that raises is logged and never breaks the app's own work.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import Signal

from .logs import get_logger

logger = get_logger("bento_stripe.signals")

#: Sent after a Stripe connection is created or reactivated.
#: kwargs: ``account`` (StripeAccount), ``by`` (user or None), ``created`` (bool).
account_connected = Signal()

#: Sent after a connection is routed to another site.
#: kwargs: ``account``, ``old_site``, ``new_site``, ``by``.
account_site_changed = Signal()

#: Sent after a connection stops forwarding events.
#: kwargs: ``account``, ``by``, ``status`` ("disconnected" or "deauthorized").
account_disconnected = Signal()

#: Sent after commit when Stripe refused a Stripe App connection's refresh token: it needs to
#: be connected again (a host may tell the team). kwargs: ``account`` (StripeAccount).
account_needs_reconnect = Signal()

#: Sent (after commit) when outbox rows became ready for delivery.
#: kwargs: ``site_ids`` (set of Site primary keys).
outbox_ready = Signal()

#: Sent by the ``signal`` backend for each batch instead of an HTTP request to Bento.
#: kwargs: ``site`` (Site), ``endpoint`` ("batch/events", "batch/subscribers" or
#: "fetch/commands"), ``body`` (the JSON body Bento would get). A receiver that raises
#: makes the batch retry later.
bento_batch = Signal()

#: Sent before a Stripe event is translated, inside the processing transaction. A receiver
#: may amend ``event`` (a copy of the Stripe event dict) in place, or return False to veto
#: it (recorded as ignored, nothing forwarded).
#: kwargs: ``event`` (dict), ``account`` (StripeAccount), ``site`` (Site), ``record``
#: (StripeEventRecord).
before_translate = Signal()

#: Sent after commit when a Stripe event was translated.
#: kwargs: ``event`` (dict), ``account``, ``site``, ``record``, ``bento_events`` (list of the
#: Bento event dicts written to the outbox, held ones included).
event_translated = Signal()

#: Sent after commit when a person's Bento fields on a site changed.
#: kwargs: ``site``, ``email``, ``old_fields`` (dict or None), ``new_fields`` (dict or None:
#: the person left the site, e.g. after an email change).
value_changed = Signal()


def send_robust(signal: Signal, sender: type, **kwargs: Any) -> None:
    """Send ``signal`` to every receiver; one that raises is logged with its traceback."""
    for receiver, result in signal.send_robust(sender=sender, **kwargs):
        if isinstance(result, Exception):
            logger.error(
                "A receiver of bento_stripe.signals (%r) raised: %s",
                receiver,
                result,
                exc_info=(type(result), result, result.__traceback__),
            )


def send_on_commit(signal: Signal, sender: type, **kwargs: Any) -> None:
    """:func:`send_robust` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: send_robust(signal, sender, **kwargs))
