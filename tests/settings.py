"""Test settings: the example project's, with fast hashing and fixed keys."""

from example_project.settings import *  # noqa: F403
from example_project.settings import BENTO_STRIPE

#: Two fixed Fernet keys: the first encrypts, both decrypt (tests rotate between them).
TEST_ENCRYPTION_KEYS = [
    "hN1mYz7o0tS8o2H9lJ7m5m0J2X6xj0W2y6mM3Q6jv4c=",
    "wq4tVvR2k1m8qM6y9p1Z3o5l7n9b2d4f6h8j0k2m4o8=",
]

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

#: No test reaches the internet: Stripe's and Bento's addresses are a local port where
#: nothing listens, so a call no test arranged is refused at once (a product or email
#: lookup of a test that did not start a stand-in, say). Tests that talk to Stripe or
#: Bento start a stand-in and point the setting at it. (https: the system check on plain
#: http, W004, stays quiet; the connection is refused before any TLS.)
NOWHERE = "https://127.0.0.1:9"

BENTO_STRIPE = {
    **BENTO_STRIPE,
    "STRIPE_API_BASE": NOWHERE,
    "STRIPE_CONNECT_BASE": NOWHERE,
    "API_URL": f"{NOWHERE}/api/v1",
    "ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS[:1],
    "BACKEND": "locmem",
    "STRIPE_SECRET_KEY": "sk_test_platform_key_for_tests",
    "STRIPE_CONNECT_CLIENT_ID": "ca_test_client_id",
    # Tests that connect accounts have no Stripe to read history from; the backfill's own
    # tests turn it on with a stand-in (tests/stripe_list_server.py).
    "BACKFILL_ON_CONNECT": False,
    # A test runs inside one transaction that other threads' connections cannot see: the
    # delivery loop visits sites in the test's thread. The threads are tested with a
    # committed database (tests/test_delivery_pool.py) and in qcluster processes.
    "DELIVERY_CONCURRENCY": 1,
}

# dj-stripe's migration history takes a minute to replay (on SQLite and PostgreSQL alike).
# Tests build third-party tables straight from their models; bento_stripe's own migrations
# run for real (its triggers and composite foreign key live there).
MIGRATION_MODULES = {
    app: None for app in ("auth", "contenttypes", "admin", "sessions", "django_q", "djstripe")
}
