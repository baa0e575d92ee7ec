"""The benchmark's tenants: teams, sites and Stripe connections, and dj-stripe's own endpoint.

``python -m benchmarks.fixtures --accounts 20 --base-url http://127.0.0.1:8000`` on a migrated
database (``DJANGO_SETTINGS_MODULE=benchmarks.settings``) prints JSON: the stock
dj-stripe webhook path and each site's Bento credentials (for the Bento stand-in). Our own
endpoint is made beforehand with ``manage.py bento_stripe_endpoint --local``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")


def site_credentials(i: int) -> dict:
    """Bento credentials of the ``i``-th benchmark site (known to the Bento stand-in too)."""
    return {
        "uuid": f"{i:08x}-0000-4000-8000-00000000bec4",
        "publishable": f"pbench{i:026d}",
        "secret": f"sbench{i:026d}",
    }


def make_tenants(accounts: list[str]) -> list[dict]:
    """One team with one site and one active test-mode connection per account.

    Connected without a backfill: the shops' histories are not what the runs measure
    (the backfill phase is), and their tasks would wait in every copy of the template
    (on SQLite the ORM broker's queue is a table of it) and run, refused by the Stripe
    stand-in, beside the events being measured.
    """
    from django.conf import settings
    from django.test import override_settings

    from bento_stripe import services
    from bento_stripe.models import get_site_model, get_team_model

    no_backfill = override_settings(
        BENTO_STRIPE={**settings.BENTO_STRIPE, "BACKFILL_ON_CONNECT": False}
    )
    sites = []
    for i, stripe_user_id in enumerate(accounts):
        creds = site_credentials(i)
        team = get_team_model().objects.create(name=f"Bench team {i}")
        site = get_site_model().objects.create(
            team=team,
            name=f"Bench site {i}",
            bento_site_uuid=creds["uuid"],
            bento_publishable_key=creds["publishable"],
            bento_secret_key=creds["secret"],
        )
        with no_backfill:
            services.connect_account(
                team=team,
                site=site,
                stripe_user_id=stripe_user_id,
                livemode=False,
                scope="read_only",
                display_name=f"Bench shop {i}",
            )
        sites.append(creds)
    return sites


def make_djstripe_endpoint(base_url: str, secret: str) -> str:
    """dj-stripe's own WebhookEndpoint (plain secret, signature check), as dj-stripe keeps it."""
    from django.urls import reverse
    from django.utils import timezone
    from djstripe.models import WebhookEndpoint

    endpoint_uuid = uuid.uuid4()
    path = reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": endpoint_uuid})
    WebhookEndpoint.objects.create(
        id="we_bench_djstripe_stock",
        djstripe_uuid=endpoint_uuid,
        livemode=False,
        created=timezone.now(),
        api_version="",
        enabled_events=["*"],
        status="enabled",
        url=base_url.rstrip("/") + path,
        secret=secret,
    )
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--base-url", required=True)
    args = parser.parse_args()
    import django

    django.setup()
    from .events import SECRET, account_ids

    sites = make_tenants(account_ids(args.accounts))
    djstripe_path = make_djstripe_endpoint(args.base_url, SECRET)
    json.dump({"sites": sites, "djstripe_path": djstripe_path}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
