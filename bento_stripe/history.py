"""What a connection has seen: its Stripe events in its own time, and the Bento rows they made.

Read by the review page and the REST API, so both show the same events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Count, QuerySet

from .models import OutboxEvent, StripeAccount, StripeEventRecord


def connection_events(account: StripeAccount) -> QuerySet[StripeEventRecord]:
    """The Stripe events received for ``account`` in its mode, in its connection's time.

    From its connection on, until another connection of the same Stripe account began
    (events that arrive after a disconnect are still shown, as ignored, until then). The
    account may have been another team's before, or be another team's now, and its
    events' ids and notes are theirs.
    """
    since = account.connected_at or account.created_at
    events = StripeEventRecord.objects.filter(
        stripe_account_id=account.stripe_user_id,
        livemode=account.livemode,
        received_at__gte=since,
    )
    successor = (
        StripeAccount.objects.filter(
            stripe_user_id=account.stripe_user_id,
            livemode=account.livemode,
            connected_at__gt=since,
        )
        .exclude(pk=account.pk)
        .order_by("connected_at")
        .values_list("connected_at", flat=True)
        .first()
    )
    if successor is not None:
        events = events.filter(received_at__lt=successor)
    return events.order_by("-received_at", "-pk")


def connection_rows(account: StripeAccount) -> QuerySet[OutboxEvent]:
    """The Bento rows written for ``account``'s events to its team's sites, any status.

    Only this team's sites: another team may have had the same account connected before.
    """
    return OutboxEvent.objects.filter(
        stripe_account_id=account.stripe_user_id, site__team_id=account.team_id
    )


def rows_by_event(account: StripeAccount, event_ids: Iterable[str]) -> dict[str, list[OutboxEvent]]:
    """The Bento rows of each of ``event_ids`` (Stripe event ids), in one query."""
    rows: dict[str, list[OutboxEvent]] = defaultdict(list)
    wanted = [e for e in event_ids if e]
    if wanted:
        for row in (
            connection_rows(account).filter(stripe_event_id__in=wanted).order_by("created_at", "pk")
        ):
            rows[row.stripe_event_id].append(row)
    return rows


def event_counts(account: StripeAccount) -> dict[str, int]:
    """How many of ``account``'s events (in its own time) are in each processing status."""
    counts = dict.fromkeys(StripeEventRecord.Status.values, 0)
    rows = (
        connection_events(account)
        .order_by()
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    counts.update(dict(rows))
    return counts
