"""Test settings of a host that brings its own teams, sites and membership rule.

The test settings, plus ``tests.swapped_app`` standing for a Bento backend:
bento_stripe's Team and Site are swapped for its Organization and Workspace, and its
SeatPolicy decides who views and manages a team. ``tests/run_lanes.py`` runs the
install journey, webhook and delivery tests under it (the "swapped" lane).
"""

from tests.settings import *  # noqa: F403
from tests.settings import BENTO_STRIPE, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.swapped_app"]

BENTO_STRIPE_TEAM_MODEL = "swapped_app.Organization"
BENTO_STRIPE_SITE_MODEL = "swapped_app.Workspace"
BENTO_STRIPE = {**BENTO_STRIPE, "TEAM_POLICY": "tests.swapped_app.policy.SeatPolicy"}
