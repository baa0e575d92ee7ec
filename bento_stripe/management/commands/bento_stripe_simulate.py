"""``manage.py bento_stripe_simulate``: post a realistic signed Stripe event stream to the webhook."""

from __future__ import annotations

import io
import json
import time

import requests
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from ... import services, simulation
from ...bento.client import user_agent
from ...models import StripeAccount, get_site_model
from ...webhooks.endpoints import made_at_stripe

#: The signing secret of the local endpoint the command makes (development only).
DEMO_SECRET = "whsec_bento_stripe_simulate_local_only"  # noqa: S105 - a local demo secret
DEMO_ACCOUNT = "acct_simulatedDemoShop"


class Command(BaseCommand):
    help = (
        "Send a realistic signed Stripe Connect event stream (customer, subscription, invoice, "
        "charges, a refund, a failed payment) to this app's local webhook endpoint."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running server")
        parser.add_argument("--account", help="Stripe account id of an active connection")
        parser.add_argument("--site", type=int, help="site for a new demo connection")
        parser.add_argument("--email", default="jane@example.com")
        parser.add_argument("--name", default="Jane Doe")
        parser.add_argument("--delay", type=float, default=0.2, help="seconds between events")
        parser.add_argument("--secret", default=DEMO_SECRET, help="signing secret (whsec_...)")

    def handle(self, *args, url, account, site, email, name, delay, secret, **options):
        stripes = made_at_stripe(url)
        if stripes is not None:
            # The simulation signs with a local secret (by default one published in this
            # file): it never runs against a URL whose endpoint Stripe made.
            raise CommandError(
                f"{url} has the endpoint {stripes.id} that Stripe made: the simulation only "
                "posts to a local endpoint. Run it against a development server, or send "
                "test events from Stripe (stripe trigger)."
            )
        connection = self._connection(account, site)
        path = self._endpoint_path(url, secret)
        events = simulation.stream(connection.stripe_user_id, email, name)
        self.stdout.write(
            f"Posting {len(events)} signed events of {connection.stripe_user_id} "
            f"({email}) to {url}{path} → site {connection.site.name!r}"
        )
        session = requests.Session()
        session.headers["User-Agent"] = (
            f"Stripe/1.0 (+https://stripe.com/docs/webhooks) {user_agent()}"
        )
        failures = 0
        for event in events:
            body = simulation.encode(event)
            try:
                response = session.post(
                    url.rstrip("/") + path,
                    data=body.encode(),
                    headers={
                        "Content-Type": "application/json; charset=utf-8",
                        "Stripe-Signature": simulation.signature(body, secret),
                    },
                    timeout=(5, 30),
                )
            except requests.RequestException as exc:
                raise CommandError(
                    f"Could not reach {url}: is the server running? ({exc})"
                ) from exc
            ok = response.status_code == 200
            failures += not ok
            self.stdout.write(f"  {response.status_code}  {event['type']:<32} {event['id']}")
            time.sleep(max(0.0, delay))
        if failures:
            raise CommandError(f"{failures} of {len(events)} events were not accepted.")
        self.stdout.write(
            self.style.SUCCESS("All events accepted; the worker delivers them to Bento.")
        )

    def _connection(self, account_id, site_id) -> StripeAccount:
        active = StripeAccount.objects.filter(status=StripeAccount.Status.ACTIVE, livemode=False)
        if account_id:
            found = active.filter(stripe_user_id=account_id).select_related("site").first()
            if found is None:
                raise CommandError(f"No active test-mode connection of {account_id}.")
            return found
        found = active.filter(stripe_user_id=DEMO_ACCOUNT).select_related("site").first()
        if found is not None:
            return found
        site_obj = (
            get_site_model().objects.filter(pk=site_id).first()
            if site_id
            else get_site_model().objects.order_by("pk").first()
        )
        if site_obj is None:
            raise CommandError("No site yet: create a team and a site first (make demo seeds one).")
        connection, _ = services.connect_account(
            team=site_obj.team,
            site=site_obj,
            stripe_user_id=DEMO_ACCOUNT,
            livemode=False,
            scope="read_only",
            display_name="Simulated shop",
        )
        return connection

    def _endpoint_path(self, url: str, secret: str) -> str:
        out = io.StringIO()
        call_command(
            "bento_stripe_endpoint",
            "--url",
            url,
            "--local",
            "--secret",
            secret,
            "--json",
            stdout=out,
        )
        return json.loads(out.getvalue())["path"]
