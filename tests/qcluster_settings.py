"""Settings of ``qcluster`` processes that tests start: the test database, the stand-in Bento."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import BENTO_STRIPE, NOWHERE, Q_CLUSTER

BENTO_STRIPE = {
    **BENTO_STRIPE,
    "BACKEND": "http",
    "API_URL": os.environ["BENTO_API_URL"],
    "LEASE_SECONDS": int(os.environ.get("BENTO_LEASE_SECONDS", "120")),
    "BATCH_SIZE": int(os.environ.get("BENTO_BATCH_SIZE", "100")),
    "RATE_LIMIT_PER_MINUTE": int(os.environ.get("BENTO_RATE_LIMIT", "100")),
    # The backfill's Stripe (tests/stripe_list_server.py), when a test starts one; else nowhere.
    "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE", NOWHERE),
    "BACKFILL_TASK_BUDGET": float(os.environ.get("BENTO_BACKFILL_TASK_BUDGET", "40")),
    # Real processes, committed data: the loop sends from its threads, as users run it.
    "DELIVERY_CONCURRENCY": 4,
}
Q_CLUSTER = {**Q_CLUSTER, "workers": 2, "poll": 0.2, "timeout": 60, "retry": 90}
