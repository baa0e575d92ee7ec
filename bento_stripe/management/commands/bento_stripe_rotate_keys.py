"""``manage.py bento_stripe_rotate_keys``: re-encrypt every stored secret under the first key."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ...rotation import rotate_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted value (Bento secret keys, access tokens, webhook endpoint "
        "secrets) under the first of BENTO_STRIPE['ENCRYPTION_KEYS'] and print counts. Run it "
        "after putting a new key first; remove an old key only once this reports nothing left "
        "under it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what would be re-encrypted; write nothing.",
        )

    def handle(self, *args, dry_run: bool = False, **options):
        reports = rotate_all(dry_run=dry_run)
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        for report in reports:
            line = (
                f"{report.label}: {verb} {report.rotated} "
                f"({report.from_older_key} under an older key)"
            )
            if report.undecryptable:
                line += f", {report.undecryptable} undecryptable"
            if report.not_encrypted:
                line += f", {report.not_encrypted} not encrypted (left alone)"
            self.stdout.write(line)
        total = sum(r.rotated for r in reports)
        lost = sum(r.undecryptable for r in reports)
        self.stdout.write(f"Total: {verb} {total}, undecryptable {lost}.")
        if lost:
            raise CommandError(
                f"{lost} value(s) could not be decrypted with any of "
                "settings.BENTO_STRIPE['ENCRYPTION_KEYS']: add the key they were encrypted "
                "with (after the first) and run the command again before removing any key."
            )
        if not dry_run:
            self.stdout.write(
                self.style.SUCCESS(
                    "Every encrypted value is under the first key: older keys may be removed."
                )
            )
