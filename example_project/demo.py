"""``make demo``: migrate, seed demo data, then run the web server and the queue worker.

Run as ``python -m example_project.demo [--port 8000] [--no-worker]``. Running it twice
is safe: seeding only creates what is missing. Ctrl-C stops both processes.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

DEMO_USER = "admin"
DEMO_PASSWORD = "admin"  # noqa: S105 - printed on purpose: a local demo login
DEMO_EMAIL = "admin@example.com"


def seed() -> dict:
    """Create the demo superuser, a team with two sites, and the owner membership."""
    from django.contrib.auth import get_user_model

    from bento_stripe.models import Membership, get_site_model, get_team_model

    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=DEMO_USER, defaults={"email": DEMO_EMAIL, "is_staff": True, "is_superuser": True}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    team, _ = get_team_model().objects.get_or_create(name="Backpack Demo")
    Membership.objects.get_or_create(team=team, user=user, defaults={"role": Membership.Role.OWNER})
    for name, uuid in (("Main site", "demo-site-main"), ("Second site", "demo-site-second")):
        get_site_model().objects.get_or_create(
            team=team, name=name, defaults={"bento_site_uuid": uuid}
        )
    return {"user": user, "team": team}


def start_stripe_standin(host: str, port: int):
    """Run the local Stripe stand-in and point the children at it, unless real Stripe is configured.

    Returns the running stand-in, or None when the user set STRIPE_API_BASE or
    STRIPE_CONNECT_BASE themselves (then the demo talks to whatever they chose).
    """
    if os.environ.get("STRIPE_API_BASE") or os.environ.get("STRIPE_CONNECT_BASE"):
        return None
    from example_project.stripe_standin import StripeStandIn

    standin = StripeStandIn(host=host, port=port).start()
    os.environ["STRIPE_API_BASE"] = standin.url
    os.environ["STRIPE_CONNECT_BASE"] = standin.url
    return standin


def simulate_when_ready(base: str, manage: list[str]) -> None:
    """Once the server answers, post the simulated Stripe stream (the worker prints it to Bento)."""
    import threading
    import urllib.error
    import urllib.request

    def run():
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/admin/login/", timeout=2)  # noqa: S310 - local
                break
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        print("  Simulating Stripe events (manage.py bento_stripe_simulate):", flush=True)
        subprocess.call([*manage, "bento_stripe_simulate", "--url", base])

    threading.Thread(target=run, daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", "8000")))
    parser.add_argument("--no-worker", action="store_true", help="do not start the qcluster worker")
    parser.add_argument(
        "--no-simulate",
        action="store_true",
        help="do not post the simulated Stripe event stream once the server is up",
    )
    parser.add_argument(
        "--stripe-port",
        type=int,
        default=int(os.environ.get("DEMO_STRIPE_PORT", "0")),
        help="port of the local Stripe stand-in (0: any free port)",
    )
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
    os.environ.setdefault("BENTO_BACKEND", "console")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    seed()

    base = f"http://{args.host}:{args.port}"
    standin = start_stripe_standin(args.host, args.stripe_port)
    manage = [sys.executable, "manage.py"]
    procs = [subprocess.Popen([*manage, "runserver", "--noreload", f"{args.host}:{args.port}"])]
    if not args.no_worker:
        procs.append(subprocess.Popen([*manage, "qcluster"]))

    print(
        "\n"
        f"  bento-stripe demo is running (Ctrl-C stops it)\n"
        f"  Admin:        {base}/admin/   login {DEMO_USER} / {DEMO_PASSWORD}\n"
        f"  Teams page:   {base}/account/teams/\n"
        f"  Stripe app:   {base}/account/apps/stripe/\n",
        flush=True,
    )
    if standin is not None:
        print(
            f"  Stripe:       a local stand-in at {standin.url} (no Stripe credentials needed):\n"
            f"                log in, open the Stripe app, Install, Continue, Authorize.\n",
            flush=True,
        )

    if not args.no_worker and not args.no_simulate:
        simulate_when_ready(base, manage)

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping and all(p.poll() is None for p in procs):
            time.sleep(0.2)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 10
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
    failed = [p.returncode for p in procs if p.returncode not in (0, -signal.SIGINT, None)]
    return 0 if stopping or not failed else 1


if __name__ == "__main__":
    sys.exit(main())
