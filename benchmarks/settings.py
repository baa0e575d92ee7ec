"""Settings of the benchmark's own processes: the example project's, with DEBUG off, a
URLconf that adds the two baselines, no Stripe email lookups, and a quiet log.

The end-to-end run uses ``example_project.settings`` itself; this module serves the
ingest comparison (gunicorn) and the processing runs.
"""

import os

import stripe

from example_project.settings import *  # noqa: F403
from example_project.settings import BENTO_STRIPE, LOGGING

DEBUG = False
ROOT_URLCONF = "benchmarks.urls"
BENTO_STRIPE = {
    **BENTO_STRIPE,
    "LOOKUP_EMAILS": False,
    "PROCESS_BATCH_SIZE": int(os.environ.get("BENCH_PROCESS_BATCH_SIZE", "100")),
}
LOGGING = {
    **LOGGING,
    "loggers": {
        "bento_stripe": {"handlers": ["console"], "level": "WARNING"},
        # One INFO line per queued task would bury the numbers.
        "django-q": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

# dj-stripe's stock view talks to Stripe through stripe-python's module settings: point
# them at the benchmark's counting stand-in, and fail at once instead of retrying.
stripe.max_network_retries = 0
if os.environ.get("STRIPE_API_BASE"):
    stripe.api_base = os.environ["STRIPE_API_BASE"]

# The example project keeps its database connections (DJANGO_CONN_MAX_AGE, 60 s); the
# ingest phase also measures the webhook of a host that closes them after each request.
if os.environ.get("BENCH_CONN_MAX_AGE"):
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ["BENCH_CONN_MAX_AGE"])  # noqa: F405
