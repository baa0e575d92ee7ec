"""Prometheus metrics read from the database at scrape time (docs/operations/health.rst).

Every value is a gauge computed from the tables when scraped, so it is right whichever
gunicorn or qcluster process answers. Process-local counters are not exported. The
exposition is prometheus_client's; each scrape builds its own registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Q, Sum
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..conf import app_settings
from ..models import BackfillCursor, OutboxEvent, StripeAccount, StripeEventRecord
from ..models.events import WAITING_STATUSES
from .health import UNDELIVERED

#: Outbox statuses counted per site (delivered and skipped rows are history, not state).
OUTBOX_STATES = (*UNDELIVERED, OutboxEvent.Status.HELD, OutboxEvent.Status.DEAD)


@dataclass(frozen=True)
class Scope:
    """What a scrape may see: everything (None) or these teams' sites and connections."""

    team_ids: frozenset | None = None


class DatabaseCollector(Collector):
    """The app's state as gauges, read in a handful of indexed, grouped queries."""

    def __init__(self, scope: Scope | None = None, now: datetime | None = None) -> None:
        self.scope = scope or Scope()
        self.now = now

    def _accounts(self) -> Q:
        ids = self.scope.team_ids
        return Q() if ids is None else Q(team_id__in=ids)

    def _events(self) -> Q:
        ids = self.scope.team_ids
        if ids is None:
            return Q()
        accounts = StripeAccount.objects.filter(team_id__in=ids).values("stripe_user_id")
        return Q(stripe_account_id__in=accounts)

    def _sites(self) -> Q:
        ids = self.scope.team_ids
        return Q() if ids is None else Q(site__team_id__in=ids)

    def collect(self) -> Iterator[Metric]:
        now = self.now or timezone.now()
        waiting = StripeEventRecord.objects.filter(self._events(), status__in=WAITING_STATUSES)
        yield GaugeMetricFamily(
            "bento_stripe_waiting_events",
            "Stripe events recorded and not applied yet (received, or failed and retried).",
            value=waiting.count(),
        )
        oldest = waiting.order_by("pk").values_list("received_at", flat=True).first()
        yield GaugeMetricFamily(
            "bento_stripe_oldest_waiting_event_age_seconds",
            "Seconds the oldest waiting Stripe event has waited (0 when none waits).",
            value=(now - oldest).total_seconds() if oldest else 0.0,
        )
        yield GaugeMetricFamily(
            "bento_stripe_failed_events",
            "Stripe events whose processing attempts are exhausted (left for a human).",
            value=StripeEventRecord.objects.filter(
                self._events(),
                status=StripeEventRecord.Status.FAILED,
                attempts__gte=app_settings.PROCESS_MAX_ATTEMPTS,
            ).count(),
        )
        outbox = GaugeMetricFamily(
            "bento_stripe_outbox_rows",
            "Outbox rows not delivered yet, per site and status (held, pending, sending, "
            "failed, dead).",
            labels=["site", "status"],
        )
        rows = (
            OutboxEvent.objects.filter(self._sites(), status__in=OUTBOX_STATES)
            .values_list("site_id", "status")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for site_id, status, n in rows:
            outbox.add_metric([str(site_id), status], n)
        yield outbox
        oldest_row = (
            OutboxEvent.objects.filter(self._sites(), status__in=UNDELIVERED)
            .order_by("created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        yield GaugeMetricFamily(
            "bento_stripe_oldest_undelivered_age_seconds",
            "Seconds the oldest outbox row still to be sent has waited (0 when none).",
            value=(now - oldest_row).total_seconds() if oldest_row else 0.0,
        )
        connections = GaugeMetricFamily(
            "bento_stripe_connections",
            "Stripe connections per state (needs_reconnect: active ones whose app install "
            "must be redone).",
            labels=["state"],
        )
        states = dict.fromkeys(StripeAccount.Status.values, 0)
        counted = (
            StripeAccount.objects.filter(self._accounts())
            .values_list("status")
            .annotate(n=Count("pk"), reconnect=Count("pk", filter=Q(needs_reconnect=True)))
            .order_by()
        )
        reconnect = 0
        for status, n, stale in counted:
            states[status] = n
            reconnect += stale if status == StripeAccount.Status.ACTIVE else 0
        for state, n in sorted(states.items()):
            connections.add_metric([state], n)
        connections.add_metric(["needs_reconnect"], reconnect)
        yield connections
        yield from self._backfill()

    def _backfill(self) -> Iterator[Metric]:
        cursors = BackfillCursor.objects.filter(
            Q(account__team_id__in=self.scope.team_ids) if self.scope.team_ids is not None else Q()
        )
        progress = GaugeMetricFamily(
            "bento_stripe_backfill_objects",
            "Objects imported by the current backfill run, per connection and state.",
            labels=["stripe_account", "state"],
        )
        rows = (
            # Stripe objects: reconciliation's events and the last step's people are not.
            cursors.exclude(
                resource__in=[BackfillCursor.Resource.EVENTS, BackfillCursor.Resource.PEOPLE]
            )
            .values_list("account__stripe_user_id", "state")
            .annotate(n=Sum("objects_done"))
            .order_by()
        )
        for account_id, state, n in rows:
            progress.add_metric([account_id, state], n or 0)
        yield progress
        last = cursors.filter(
            resource=BackfillCursor.Resource.EVENTS, finished_at__isnull=False
        ).aggregate(last=Max("finished_at"))["last"]
        yield GaugeMetricFamily(
            "bento_stripe_last_reconciliation_timestamp_seconds",
            "UNIX time the last reconciliation run finished (0: never).",
            value=last.timestamp() if last else 0.0,
        )


def render(scope: Scope | None = None) -> bytes:
    """The metrics in Prometheus' text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(scope))
    return generate_latest(registry)
