"""``manage.py bento_stripe_replay``: resend delivered outbox rows, or retry failed and dead ones."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from ...delivery import services
from ...delivery.worker import drain_site
from ...models import OutboxEvent

_RELATIVE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str) -> datetime:
    """``2026-11-28``, ``2026-11-28T10:00:00Z`` or a relative ``30m``/``6h``/``2d``/``1w``."""
    value = value.strip()
    match = _RELATIVE.match(value)
    if match:
        return timezone.now() - timedelta(**{_UNITS[match[2]]: int(match[1])})
    when = parse_datetime(value)
    if when is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(
                f"--since {value!r}: use a date (2026-11-28), a datetime "
                "(2026-11-28T10:00:00Z) or a relative time (30m, 6h, 2d, 1w)."
            )
        when = datetime(day.year, day.month, day.day)
    return when if timezone.is_aware(when) else timezone.make_aware(when, UTC)


class Command(BaseCommand):
    help = (
        "Replay delivered outbox rows to Bento (Bento dedupes value events by unique.key), "
        "or with --failed retry failed and dead rows now."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--failed", action="store_true", help="retry failed and dead rows instead"
        )
        parser.add_argument("--since", help="only rows created since (date, datetime, 30m/6h/2d)")
        parser.add_argument("--site", type=int, action="append", help="only this site id (repeat)")
        parser.add_argument("--type", dest="event_type", help="only this Bento event type")
        parser.add_argument("--dry-run", action="store_true", help="count, change nothing")
        parser.add_argument(
            "--drain", action="store_true", help="send now from this process, not the queue"
        )

    def handle(self, *args, failed, since, site, event_type, dry_run, drain, **options):
        if not failed and not since:
            raise CommandError(
                "Replaying every delivered row is rarely meant: give --since, or --failed."
            )
        rows = OutboxEvent.objects.all()
        if since:
            rows = rows.filter(created_at__gte=parse_since(since))
        if site:
            rows = rows.filter(site_id__in=site)
        if event_type:
            rows = rows.filter(event_type=event_type)
        statuses = services.RETRYABLE[1:] if failed else (OutboxEvent.Status.DELIVERED,)
        rows = rows.filter(status__in=statuses)
        site_ids = sorted(set(rows.values_list("site_id", flat=True)))
        what = "failed or dead" if failed else "delivered"
        if dry_run:
            self.stdout.write(f"{rows.count()} {what} rows would be sent again.")
            return
        count = services.retry_now(rows) if failed else services.replay(rows)
        self.stdout.write(self.style.SUCCESS(f"{count} {what} rows queued for delivery."))
        if drain:
            for site_id in site_ids:
                result = drain_site(site_id)
                self.stdout.write(
                    f"  site {site_id}: {result.delivered} delivered, {result.failed} failed, "
                    f"{result.retried} waiting to retry in {result.requests} requests"
                )
