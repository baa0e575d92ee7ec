"""``manage.py bento_stripe_app_manifest``: print the ``stripe-app.json`` for Stripe App installs."""

from __future__ import annotations

import json
import re

from django.core.management.base import BaseCommand, CommandError

from bento_stripe.stripe_app import manifest

#: What the manifest schema accepts as a redirect URI (an http(s) URL with a path).
REDIRECT_URI = re.compile(r"^https?://[^/\s]+/\S+$")


class Command(BaseCommand):
    help = (
        "Print the stripe-app.json to upload with the Stripe CLI (stripe apps upload): OAuth "
        "API access, public distribution, the redirect URI(s) and the permissions the "
        "registered translators need."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--redirect-uri",
            action="append",
            required=True,
            dest="redirect_uris",
            help="The callback URL, e.g. https://app.example.com/account/oauth/stripe_accounts/"
            "callback (repeat for more; the first is Stripe's default).",
        )
        parser.add_argument("--id", default="com.example.bento-stripe", help="The app's id.")
        parser.add_argument("--name", default="Bento", help="The app's name in the Marketplace.")
        parser.add_argument(
            "--app-version", dest="app_version", default="1.0.0", help="Its version."
        )
        parser.add_argument("--icon", default="", help="Path of its 300x300 icon, if any.")

    def handle(self, *args, **options):
        uris = options["redirect_uris"]
        bad = [uri for uri in uris if not REDIRECT_URI.match(uri)]
        if bad:
            raise CommandError(
                f"--redirect-uri {bad[0]!r} is not an http(s) URL with a path (Stripe's manifest "
                "schema wants one, e.g. https://app.example.com/account/oauth/stripe_accounts/"
                "callback)."
            )
        plain = [uri for uri in uris if uri.startswith("http://")]
        if plain:
            self.stderr.write(
                f"Note: {plain[0]} is plain http: Stripe accepts it for test-mode installs only; "
                "live mode needs https."
            )
        try:
            data = manifest.build(
                redirect_uris=uris,
                app_id=options["id"],
                name=options["name"],
                version=options["app_version"],
                icon=options["icon"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(data, indent=2))
