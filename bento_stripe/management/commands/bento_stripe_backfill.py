"""``manage.py bento_stripe_backfill acct_... | --all [--since DATE]``: import history now."""

from __future__ import annotations

import time
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ...backfill import services as backfill
from ...backfill.engine import Step
from ...backfill.resources import ORDER
from ...models import BackfillCursor, OutboxEvent, StripeAccount
from .bento_stripe_replay import parse_since


class Command(BaseCommand):
    help = (
        "Import connected Stripe accounts' history (customers, charges with refunds and "
        "disputes, subscriptions, invoices) into the ledger in the foreground, and queue "
        "the changed fields for Bento (/batch/subscribers only, never events). Resumes a "
        "backfill under way; run again at any time: unchanged people get nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("accounts", nargs="*", metavar="acct_...", help="Stripe account ids")
        parser.add_argument("--all", action="store_true", help="every active connection")
        parser.add_argument(
            "--since", help="only objects created since (2026-11-28, a datetime, or 30d)"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, accounts, all, since, no_progress, **options):
        if bool(accounts) == bool(all):
            raise CommandError("Name Stripe accounts (acct_...) or give --all, not both.")
        chosen = StripeAccount.objects.active().order_by("pk")
        if accounts:
            chosen = chosen.filter(stripe_user_id__in=accounts)
            missing = set(accounts) - set(chosen.values_list("stripe_user_id", flat=True))
            if missing:
                raise CommandError(
                    f"No active connection of {', '.join(sorted(missing))}: connect it first."
                )
        since_ts = int(parse_since(since).timestamp()) if since else 0
        failed = 0
        for account in chosen:
            failed += self._one(account, since_ts, progress=not no_progress) != "done"
        if failed:
            raise CommandError(f"{failed} backfill(s) did not finish; see the errors above.")

    def _one(self, account: StripeAccount, since: int, *, progress: bool) -> str:
        began = time.monotonic()
        rows_before = OutboxEvent.objects.filter(
            connection=account, kind=OutboxEvent.Kind.SUBSCRIBER
        ).count()
        backfill.start(account, since=since, enqueue=False)
        done: Counter[str] = Counter()
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[objects]:>8,} objects"),
            TimeElapsedColumn(),
            disable=not progress,
            console=None,
        ) as bar:
            task = bar.add_task(f"{account.stripe_user_id} customers", total=len(ORDER), objects=0)

            def on_step(step: Step) -> None:
                if step.cursor.resource != BackfillCursor.Resource.PEOPLE:
                    done[step.cursor.resource] += step.objects
                finished = sum(r.state == "done" for r in backfill.state(account).resources)
                bar.update(
                    task,
                    completed=finished,
                    objects=sum(done.values()),
                    description=f"{account.stripe_user_id} {step.cursor.resource}",
                )

            outcome = backfill.run(account, on_step=on_step)
        state = backfill.state(account)
        rows = (
            OutboxEvent.objects.filter(connection=account, kind=OutboxEvent.Kind.SUBSCRIBER).count()
            - rows_before
        )
        self.stdout.write(
            f"{account.stripe_user_id}: {outcome} in {time.monotonic() - began:.1f}s, "
            f"{rows} field update(s) queued for Bento"
        )
        for r in state.resources:
            error = f"  last error: {r.last_error}" if r.last_error else ""
            unit = "people " if r.resource == BackfillCursor.Resource.PEOPLE else "objects"
            self.stdout.write(
                f"  {r.resource:<14} {r.state:<8} {r.objects_done:>8,} {unit} "
                f"{r.pages_done:>6,} pages{error}"
            )
        return outcome
