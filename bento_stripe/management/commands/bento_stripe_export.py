"""``manage.py bento_stripe_export --email X [--team ID]``: a person's stored data as JSON."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from ...models import get_team_model
from ...operations.privacy import export_person


def team_of(team_id: int | None):
    """The team ``--team`` names, or None; a clear error for an unknown id."""
    if team_id is None:
        return None
    try:
        return get_team_model().objects.get(pk=team_id)
    except get_team_model().DoesNotExist:
        raise CommandError(f"No team with id {team_id}.") from None


class Command(BaseCommand):
    help = (
        "Print, as JSON, everything bento-stripe stores about a person (ledger rows, fields, "
        "deliveries, event payloads and webhook requests naming the email). Reads only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True, help="the person's email")
        parser.add_argument("--team", type=int, help="only this team's connections and sites")

    def handle(self, *args, email, team, **options):
        try:
            data = export_person(email, team_of(team))
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(json.dumps(data, cls=DjangoJSONEncoder, indent=2, sort_keys=True))
