"""``manage.py bento_stripe_prune``: remove what retention no longer keeps (docs/operations/retention.rst)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ...operations.retention import prune, retention_days


class Command(BaseCommand):
    help = (
        "Delete processed and ignored event records (kept compact, for dedupe, another "
        "RETENTION_DAYS), sent deliveries and refused webhook requests older than "
        "RETENTION_DAYS, in small transactions. Waiting, held, failed and dead rows stay."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            help="remove what is older than this many days (default: RETENTION_DAYS)",
        )
        parser.add_argument("--dry-run", action="store_true", help="count, change nothing")

    def handle(self, *args, days, dry_run, **options):
        if days is not None and days < 0:
            raise CommandError("--days must be 0 or more.")
        report = prune(days, dry_run=dry_run)
        verb = "would be" if dry_run else "were"
        self.stdout.write(
            f"Older than {report.cutoff:%Y-%m-%d %H:%M:%S} UTC "
            f"({retention_days() if days is None else days} days); compact records "
            f"compacted before {report.dedupe_cutoff:%Y-%m-%d %H:%M:%S} UTC:"
        )
        for table, count in report.counts.items():
            self.stdout.write(f"  {count} {table}")
        summary = f"{report.total} rows {verb} changed."
        self.stdout.write(summary if dry_run else self.style.SUCCESS(summary))
