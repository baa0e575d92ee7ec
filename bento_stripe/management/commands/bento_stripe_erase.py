"""``manage.py bento_stripe_erase --email X [--team ID] [--yes]``: erase a person's stored data."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from ...operations.privacy import erase_person, find_person
from .bento_stripe_export import team_of


class Command(BaseCommand):
    help = (
        "Delete everything bento-stripe stores about a person and leave erasure markers so "
        "later webhooks do not rebuild them. Never touches Stripe or Bento (see the docs)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True, help="the person's email")
        parser.add_argument("--team", type=int, help="only this team's connections and sites")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, email, team, yes, **options):
        scope = team_of(team)
        try:
            person = find_person(email, scope)
        except ValueError as error:
            raise CommandError(str(error)) from None
        where = f"team {scope.pk}" if scope is not None else "every team"
        if not yes:
            if not sys.stdin.isatty():
                raise CommandError("Give --yes to erase without asking.")
            answer = input(f"Erase everything stored about {person.email} in {where}? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("Nothing erased.")
        report = erase_person(person.email, scope)
        for label, count in report.counts.items():
            self.stdout.write(f"  {count} {label}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Erased {person.email} in {where}; {report.markers} erasure markers keep "
                "later Stripe events from rebuilding the person. Stripe and Bento were not "
                "touched."
            )
        )
