"""``manage.py bento_stripe_endpoint``: make sure the Connect webhook endpoint exists."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from bento_stripe.webhooks.endpoints import endpoint_path, ensure_at_stripe, ensure_local


class Command(BaseCommand):
    help = (
        "Make sure the Connect webhook endpoint exists (--local: in the database only) and "
        "print its receiving path."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", required=True, help="Public base URL, e.g. https://app.example.com"
        )
        parser.add_argument(
            "--local", action="store_true", help="Only in the database (dev, tests)."
        )
        parser.add_argument(
            "--secret", help="The signing secret (whsec_...) of a --local endpoint."
        )
        parser.add_argument("--livemode", action="store_true", help="A live-mode --local endpoint.")
        parser.add_argument("--json", action="store_true", help='Print {"id", "url", "path"}.')

    def handle(self, *args, **options):
        base = options["url"]
        if not base.startswith(("http://", "https://")):
            raise CommandError("--url must start with http:// or https://")
        if options["secret"] and not options["local"]:
            raise CommandError("--secret is for --local endpoints; Stripe makes the secret itself.")
        if options["secret"] and not options["secret"].startswith("whsec_"):
            raise CommandError("--secret must be a Stripe signing secret (whsec_...).")
        try:
            if options["local"]:
                endpoint = ensure_local(base, options["secret"], livemode=options["livemode"])
            else:
                endpoint = ensure_at_stripe(base, livemode=options["livemode"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        path = endpoint_path(endpoint.djstripe_uuid)
        if options["json"]:
            self.stdout.write(json.dumps({"id": endpoint.id, "url": endpoint.url, "path": path}))
        else:
            self.stdout.write(f"Webhook endpoint {endpoint.id}: {endpoint.url}")
            self.stdout.write(f"Receiving path: {path}")
