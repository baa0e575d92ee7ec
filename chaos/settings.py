"""Settings of the chaos run's processes: the example project's, with time compressed.

A soak of minutes stands for hours of traffic, so the waits that are minutes long in
production are seconds here: delivery backoff is capped at 20 s instead of 600 s, the
read timeout of Bento requests is 3 s (the stand-in's slow answers take 4 s), leases
lapse after 20-30 s and held rows are looked up after 5 s. Everything else, including
the rate limit of 100 requests a minute per site, is the production default.
"""

from example_project.settings import *  # noqa: F403
from example_project.settings import BENTO_STRIPE, LOGGING

BENTO_STRIPE = {
    **BENTO_STRIPE,
    "RETRY_MAX_DELAY": 20.0,
    "HTTP_TIMEOUT": (3.0, 3.0),
    "LEASE_SECONDS": 30,
    "PROCESS_LEASE_SECONDS": 20,
    "SWEEP_AFTER": 5,
    "LOOKUP_TIMEOUT": 2.0,
}
LOGGING = {
    **LOGGING,
    "loggers": {
        "bento_stripe": {"handlers": ["console"], "level": "WARNING"},
        # INFO: the run waits for qcluster's "running" line.
        "django-q": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
# The Bento stand-in is local plain http.
SILENCED_SYSTEM_CHECKS = ["bento_stripe.W004"]
