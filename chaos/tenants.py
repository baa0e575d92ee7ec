"""Django-side steps of the chaos run, each a short process on the run's database.

``python -m chaos.tenants setup``: teams, sites and test-mode connections (through the
service layer, as the pages make them); prints each site's Bento credentials as JSON.
``python -m chaos.tenants reroute <acct> <site index>`` and ``... disconnect <acct>``:
what an owner's Settings and Disconnect do (``services.change_site`` / ``disconnect``).
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chaos.settings")


def site_credentials(i: int) -> dict:
    return {
        "uuid": f"{i:08x}-0000-4000-8000-0000000c4a05",
        "publishable": f"pchaos{i:026d}",
        "secret": f"schaos{i:026d}",
    }


def setup() -> list[dict]:
    from bento_stripe import services
    from bento_stripe.models import Site, Team

    from .workload import ACCOUNT_SITES, SITES, account_id

    teams: dict[int, Team] = {}
    sites: list[Site] = []
    creds = []
    for index, (team_index, _) in enumerate(SITES):
        if team_index not in teams:
            teams[team_index] = Team.objects.create(name=f"Chaos team {team_index}")
        c = site_credentials(index)
        sites.append(
            Site.objects.create(
                team=teams[team_index],
                name=f"Chaos site {index}",
                bento_site_uuid=c["uuid"],
                bento_publishable_key=c["publishable"],
                bento_secret_key=c["secret"],
            )
        )
        creds.append(c)
    for i, site_index in enumerate(ACCOUNT_SITES):
        site = sites[site_index]
        services.connect_account(
            team=site.team,
            site=site,
            stripe_user_id=account_id(i),
            livemode=False,
            scope="read_only",
            display_name=f"Chaos shop {i}",
        )
    return creds


def main(argv: list[str]) -> int:
    import django

    django.setup()
    from bento_stripe import services
    from bento_stripe.models import Site, StripeAccount

    command = argv[0]
    if command == "setup":
        json.dump({"sites": setup()}, sys.stdout)
        sys.stdout.write("\n")
    elif command == "reroute":
        account = StripeAccount.objects.active().get(stripe_user_id=argv[1])
        site = Site.objects.get(bento_site_uuid=site_credentials(int(argv[2]))["uuid"])
        services.change_site(account, site)
    elif command == "disconnect":
        services.disconnect(StripeAccount.objects.active().get(stripe_user_id=argv[1]))
    else:
        raise SystemExit(f"unknown command {command!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
