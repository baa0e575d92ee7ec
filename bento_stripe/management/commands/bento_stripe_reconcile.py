"""``manage.py bento_stripe_reconcile [acct_...]``: reconcile with Stripe now, print corrections."""

from __future__ import annotations

import json

import stripe
from django.core.management.base import BaseCommand, CommandError

from ...backfill.reconcile import reconcile
from ...models import StripeAccount


def _show(value: object) -> str:
    return "(none)" if value is None else json.dumps(value)


class Command(BaseCommand):
    help = (
        "Re-read what changed at Stripe since the last reconciliation (Stripe's events list, "
        "including deliveries that failed), fix the ledger, queue the corrected fields for "
        "Bento (/batch/subscribers only), and print each correction."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "accounts", nargs="*", metavar="acct_...", help="Stripe account ids (default: all)"
        )

    def handle(self, *args, accounts, **options):
        chosen = StripeAccount.objects.active().order_by("pk")
        if accounts:
            chosen = chosen.filter(stripe_user_id__in=accounts)
            missing = set(accounts) - set(chosen.values_list("stripe_user_id", flat=True))
            if missing:
                raise CommandError(f"No active connection of {', '.join(sorted(missing))}.")
        failed = 0
        for account in chosen:
            try:
                report = reconcile(account)
            except stripe.StripeError as error:
                failed += 1
                self.stderr.write(
                    f"{account.stripe_user_id}: Stripe answered "
                    f"{error.http_status or 'nothing'}: {error.user_message}"
                )
                continue
            for c in report.corrections:
                self.stdout.write(f"{c.email}  {c.field}: {_show(c.old)} -> {_show(c.new)}")
            people = len({c.email for c in report.corrections})
            self.stdout.write(
                f"{account.stripe_user_id}: {report.events} event(s) read, "
                f"{len(report.corrections)} correction(s) for {people} person(s)"
            )
        if failed:
            raise CommandError(f"{failed} account(s) could not be reconciled.")
