"""Settings of bento-stripe, read from ``settings.BENTO_STRIPE`` at access time.

Every value is looked up when it is used, so ``override_settings`` works in tests
and nothing is read at import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

#: The defaults of every key of ``settings.BENTO_STRIPE``.
DEFAULTS: dict[str, Any] = {
    # Fernet keys; the first encrypts, all decrypt. Empty: derived from SECRET_KEY in DEBUG only.
    "ENCRYPTION_KEYS": [],
    # Platform (Connect application) credentials and addresses.
    # The platform's secret key (the Stripe App owner's key for app installs).
    "STRIPE_SECRET_KEY": "",
    # The Connect application's ca_... id (Dashboard: Settings, Connect, Onboarding options, OAuth).
    "STRIPE_CONNECT_CLIENT_ID": "",
    # Stripe's API address (tests and the demo point it at a local stand-in).
    "STRIPE_API_BASE": "https://api.stripe.com",
    # Stripe Connect's OAuth address (/oauth/authorize, /oauth/token, /oauth/deauthorize).
    "STRIPE_CONNECT_BASE": "https://connect.stripe.com",
    # The Connect scope asked for: read_only or read_write.
    "OAUTH_SCOPE": "read_only",
    # Seconds an OAuth state (single use, bound to session, user and team) stays valid.
    "OAUTH_STATE_MAX_AGE": 600,
    # The redirect URI registered at Stripe; empty: built from the request's host.
    "OAUTH_REDIRECT_URI": "",
    # Keep a Connect connection's access token (encrypted); a Stripe App install always keeps
    # its token pair.
    "STORE_ACCESS_TOKEN": False,
    # How new connections are made: "connect" (Connect OAuth) or "app" (a Stripe App whose
    # API access type is OAuth 2.0). Connections of both kinds keep working either way.
    "STRIPE_INSTALL_KIND": "connect",
    # The Stripe App's install links exactly as the Dashboard shows them (live / test mode);
    # the app adds redirect_uri and state.
    "STRIPE_APP_INSTALL_URL": "",
    "STRIPE_APP_TEST_INSTALL_URL": "",
    # The app owner's test-mode key, for test-mode installs when STRIPE_SECRET_KEY is live.
    "STRIPE_TEST_SECRET_KEY": "",
    # App access tokens: Stripe's lifetime (it sends no expires_in), refreshed this many
    # seconds ahead of expiry; seconds per token call.
    "APP_TOKEN_LIFETIME": 3600,
    "APP_TOKEN_REFRESH_MARGIN": 300,
    "APP_TOKEN_TIMEOUT": 10.0,
    # The scheduled task rolls every app connection's refresh token after this many days
    # (Stripe's refresh tokens last a year).
    "APP_REFRESH_TOKEN_ROLL_DAYS": 30,
    # Webhooks.
    # Seconds of clock skew accepted on a signature's timestamp.
    "WEBHOOK_TOLERANCE": 300,
    # Larger webhook bodies are refused with 413 before they are read.
    "WEBHOOK_MAX_BODY_BYTES": 1024 * 1024,
    # Forward event types that have no translator ($ + the type in PascalCase).
    "FORWARD_UNKNOWN_EVENTS": False,
    # Proxies (addresses or CIDR ranges) whose X-Forwarded-For is believed for the client
    # address kept with a refused webhook; empty: REMOTE_ADDR only.
    "WEBHOOK_TRUSTED_PROXIES": [],
    # Also keep every verified request as a dj-stripe WebhookEventTrigger (one more INSERT
    # per event); refused requests are always kept.
    "KEEP_WEBHOOK_TRIGGERS": False,
    # Ask Stripe (platform key + Stripe-Account) for a customer's email the events don't tell.
    "LOOKUP_EMAILS": True,
    # Seconds a held row waits before its person is looked up at Stripe (and between looks).
    "SWEEP_AFTER": 60,
    # Processing: events of one account claimed and applied together in one transaction.
    "PROCESS_BATCH_SIZE": 100,
    # A web process wakes a worker at most once per interval; a woken worker keeps looking
    # for new events for PROCESS_LINGER seconds (longer than the interval) before it stops.
    "PROCESS_WAKE_INTERVAL": 0.25,
    "PROCESS_LINGER": 1.0,
    # Seconds a claimed batch is reserved for its worker (a killed worker's events come back).
    "PROCESS_LEASE_SECONDS": 60,
    # Seconds one processing task works before handing over to a fresh one (timeout is 60).
    "PROCESS_BUDGET": 40.0,
    # Failed processing attempts of an event before it is left for a human (the admin).
    "PROCESS_MAX_ATTEMPTS": 10,
    # Stripe email lookups: seconds per call, and per task (kept below django-q2's timeout).
    "LOOKUP_TIMEOUT": 5.0,
    "LOOKUP_BUDGET": 30.0,
    # Look up products and prices the catalogue does not know, and checkout sessions' line
    # items, at Stripe (in the processing task, within LOOKUP_BUDGET), to name products.
    "LOOKUP_PRODUCTS": True,
    # Delivery to Bento.
    # How batches leave: http, console, locmem, signal, or a dotted path to a backend class.
    "BACKEND": "http",
    # Bento's REST API base.
    "API_URL": "https://app.bentonow.com/api/v1",
    # Items per Bento request (1 to 1,000).
    "BATCH_SIZE": 100,
    # New rows of a site go as soon as the rate limit allows, unless they arrive fast
    # enough to fill a batch: then they wait for it, at least GATHER_SECONDS and at most
    # GATHER_MAX_SECONDS (decided by the delivery loop from the outbox itself).
    "GATHER_SECONDS": 0.0,
    "GATHER_MAX_SECONDS": 5.0,
    # Bento requests a minute per site and endpoint family, across every worker (at most 100).
    "RATE_LIMIT_PER_MINUTE": 100,
    # Delivery attempts of a row before it is dead (Admin: Retry now, or bento_stripe_replay).
    "MAX_ATTEMPTS": 10,
    # Connect and read timeouts (seconds) of each Bento request.
    "HTTP_TIMEOUT": (5.0, 30.0),
    # Delivery worker: backoff of retried batches (seconds), row lease, Redis for the limiter.
    "RETRY_BASE_DELAY": 2.0,
    "RETRY_MAX_DELAY": 600.0,
    "LEASE_SECONDS": 120,
    "REDIS_URL": "",
    # Seconds a web process keeps a webhook endpoint and its decrypted secret (saving or
    # deleting the endpoint drops it at once in that process); 0: read it every request.
    "ENDPOINT_CACHE_SECONDS": 5.0,
    # django-q2 cluster (queue) names per kind of work: "processing" (Stripe events),
    # "delivery" (the delivery loops) and "backfill" (backfills and reconciliation); a
    # missing or empty name means the default cluster. Run one qcluster per name used
    # (Q_CLUSTER_NAME=<name> manage.py qcluster, with ALT_CLUSTERS in Q_CLUSTER).
    "QUEUES": {},
    # A commit wakes a delivery loop at most once per interval across all processes (a
    # shared marker in Redis, else in the database); a loop keeps looking for due rows for
    # DELIVERY_LINGER seconds after its last send, and hands over after DELIVERY_BUDGET.
    "DELIVERY_WAKE_INTERVAL": 0.25,
    # Seconds a delivery loop keeps looking for due rows after its last send.
    "DELIVERY_LINGER": 2.0,
    # Seconds one delivery loop runs before handing over to a fresh task (timeout is 60).
    "DELIVERY_BUDGET": 40.0,
    # Sites one delivery loop sends to at once, each from a thread with its own database
    # connection, so one slow Bento answer holds up no other site (PostgreSQL; on SQLite,
    # whose writes are serial anyway, a loop sends to one site at a time).
    "DELIVERY_CONCURRENCY": 4,
    # Who may view and manage a team: a dotted path to a TeamPolicy subclass (or to a
    # callable returning a policy object); see bento_stripe/policy.py.
    "TEAM_POLICY": "bento_stripe.policy.MembershipPolicy",
    # Backfill: start one when a connection becomes active; seconds per Stripe call;
    # retries of a page on 429/5xx/network errors (with backoff, Stripe-Should-Retry
    # honoured); failed attempts of a page before the sweep leaves it for a human;
    # seconds one task pages before handing over; seconds without progress after which
    # a running backfill counts as abandoned (a killed worker) and is resumed; objects
    # applied per unit of work (whole pages of 100 are read until a unit holds this many).
    "BACKFILL_ON_CONNECT": True,
    "BACKFILL_TIMEOUT": 20.0,
    "BACKFILL_MAX_RETRIES": 6,
    "BACKFILL_MAX_ATTEMPTS": 10,
    "BACKFILL_TASK_BUDGET": 40.0,
    "BACKFILL_STALE_AFTER": 600,
    "BACKFILL_UNIT_OBJECTS": 500,
    # Reconciliation: minutes between runs (nightly), and how far back the first run looks.
    "RECONCILE_EVERY_MINUTES": 24 * 60,
    "RECONCILE_FIRST_WINDOW": 24 * 60 * 60,
    # Days processed or ignored event records, sent deliveries and refused webhook requests
    # are kept before the nightly prune removes them (at least 4: Stripe retries for 3 days).
    "RETENTION_DAYS": 30,
    # Rows the prune changes per transaction (small, so no busy table is locked for long).
    "PRUNE_BATCH_SIZE": 1000,
    # Health: seconds the oldest waiting Stripe event may wait before the status is degraded.
    "HEALTH_MAX_EVENT_AGE": 300,
    # Health: seconds the oldest undelivered outbox row may wait before the status is degraded.
    "HEALTH_MAX_DELIVERY_AGE": 900,
    # Health: dead deliveries (attempts exhausted) tolerated before the status is degraded.
    "HEALTH_MAX_DEAD_DELIVERIES": 0,
    # Health: seconds since the last finished reconciliation before the status is degraded.
    "HEALTH_MAX_RECONCILE_AGE": 2 * 24 * 60 * 60,
    # Serve Prometheus metrics at stripe/metrics/ (staff and METRICS_ALLOWED_IPS only).
    "METRICS_ENABLED": False,
    # Scraper addresses or CIDR ranges allowed to read the metrics without logging in.
    "METRICS_ALLOWED_IPS": [],
}

#: The Django settings (top level, like ``AUTH_USER_MODEL``) that swap the app's Team and
#: Site for models of the host project, and their defaults.
TEAM_MODEL_SETTING = "BENTO_STRIPE_TEAM_MODEL"
SITE_MODEL_SETTING = "BENTO_STRIPE_SITE_MODEL"
DEFAULT_TEAM_MODEL = "bento_stripe.Team"
DEFAULT_SITE_MODEL = "bento_stripe.Site"

#: Short names accepted by ``BACKEND``.
BACKEND_ALIASES = {
    "http": "bento_stripe.bento.backends.http.HttpBackend",
    "console": "bento_stripe.bento.backends.console.ConsoleBackend",
    "locmem": "bento_stripe.bento.backends.locmem.LocmemBackend",
    "signal": "bento_stripe.bento.backends.signal.SignalBackend",
}


#: The string settings that ``AppSettings.require`` reads (the Stripe platform's own).
RequiredKey = Literal["STRIPE_SECRET_KEY", "STRIPE_CONNECT_CLIENT_ID"]


class AppSettings:
    """Typed attribute access to ``settings.BENTO_STRIPE`` with defaults, read on every access.

    Each key of :data:`DEFAULTS` is declared below with the type the app expects, so mypy
    checks every ``app_settings.KEY`` (a misspelt or undeclared key is a type error, and
    tests/test_conf.py keeps the declarations and ``DEFAULTS`` the same keys). The value is
    read from ``settings.BENTO_STRIPE`` on every access (so ``override_settings`` works and
    nothing is cached); it is not converted: a value of another type is reported by the
    system checks (docs/reference/checks.rst).
    """

    ENCRYPTION_KEYS: list[str] | str  # a comma-separated string is accepted too
    STRIPE_SECRET_KEY: str
    STRIPE_CONNECT_CLIENT_ID: str
    STRIPE_API_BASE: str
    STRIPE_CONNECT_BASE: str
    OAUTH_SCOPE: str
    OAUTH_STATE_MAX_AGE: int
    OAUTH_REDIRECT_URI: str
    STORE_ACCESS_TOKEN: bool
    STRIPE_INSTALL_KIND: str
    STRIPE_APP_INSTALL_URL: str
    STRIPE_APP_TEST_INSTALL_URL: str
    STRIPE_TEST_SECRET_KEY: str
    APP_TOKEN_LIFETIME: int
    APP_TOKEN_REFRESH_MARGIN: int
    APP_TOKEN_TIMEOUT: float
    APP_REFRESH_TOKEN_ROLL_DAYS: int
    WEBHOOK_TOLERANCE: int
    WEBHOOK_MAX_BODY_BYTES: int
    FORWARD_UNKNOWN_EVENTS: bool
    WEBHOOK_TRUSTED_PROXIES: list[str] | str  # a comma-separated string is accepted too
    KEEP_WEBHOOK_TRIGGERS: bool
    LOOKUP_EMAILS: bool
    SWEEP_AFTER: int
    PROCESS_BATCH_SIZE: int
    PROCESS_WAKE_INTERVAL: float
    PROCESS_LINGER: float
    PROCESS_LEASE_SECONDS: int
    PROCESS_BUDGET: float
    PROCESS_MAX_ATTEMPTS: int
    LOOKUP_TIMEOUT: float
    LOOKUP_BUDGET: float
    LOOKUP_PRODUCTS: bool
    BACKEND: str
    API_URL: str
    BATCH_SIZE: int
    GATHER_SECONDS: float
    GATHER_MAX_SECONDS: float
    RATE_LIMIT_PER_MINUTE: int
    MAX_ATTEMPTS: int
    HTTP_TIMEOUT: tuple[float, float] | float  # (connect, read), or one number for both
    RETRY_BASE_DELAY: float
    RETRY_MAX_DELAY: float
    LEASE_SECONDS: int
    REDIS_URL: str
    ENDPOINT_CACHE_SECONDS: float
    QUEUES: dict[str, str]
    DELIVERY_WAKE_INTERVAL: float
    DELIVERY_LINGER: float
    DELIVERY_BUDGET: float
    DELIVERY_CONCURRENCY: int
    TEAM_POLICY: str
    BACKFILL_ON_CONNECT: bool
    BACKFILL_TIMEOUT: float
    BACKFILL_MAX_RETRIES: int
    BACKFILL_MAX_ATTEMPTS: int
    BACKFILL_TASK_BUDGET: float
    BACKFILL_STALE_AFTER: int
    BACKFILL_UNIT_OBJECTS: int
    RECONCILE_EVERY_MINUTES: int
    RECONCILE_FIRST_WINDOW: int
    RETENTION_DAYS: int
    PRUNE_BATCH_SIZE: int
    HEALTH_MAX_EVENT_AGE: int
    HEALTH_MAX_DELIVERY_AGE: int
    HEALTH_MAX_DEAD_DELIVERIES: int
    HEALTH_MAX_RECONCILE_AGE: int
    METRICS_ENABLED: bool
    METRICS_ALLOWED_IPS: list[str] | tuple[str, ...]

    def _user_settings(self) -> dict[str, Any]:
        value = getattr(django_settings, "BENTO_STRIPE", {}) or {}
        if not isinstance(value, dict):
            raise ImproperlyConfigured("settings.BENTO_STRIPE must be a dict.")
        return value

    if not TYPE_CHECKING:
        # Hidden from mypy, so that only the keys declared above type-check.

        def __getattr__(self, name: str) -> Any:
            if name not in DEFAULTS:
                raise AttributeError(f"BENTO_STRIPE has no setting {name!r}")
            return self._user_settings().get(name, DEFAULTS[name])

    def require(self, name: RequiredKey) -> str:
        """The value of ``name``, or ImproperlyConfigured naming the key when it is empty."""
        value: str = getattr(self, name)
        if value in ("", None, [], ()):
            raise ImproperlyConfigured(
                f"settings.BENTO_STRIPE[{name!r}] is not set: set it in your Django settings."
            )
        return value


app_settings = AppSettings()


def team_model_label() -> str:
    """``"app_label.ModelName"`` of the team model: ``BENTO_STRIPE_TEAM_MODEL`` or the app's own.

    Model fields and migrations read it when they are defined (as Django's own
    ``AUTH_USER_MODEL``); the model cannot change while the process runs.
    """
    return getattr(django_settings, TEAM_MODEL_SETTING, None) or DEFAULT_TEAM_MODEL


def site_model_label() -> str:
    """``"app_label.ModelName"`` of the site model: ``BENTO_STRIPE_SITE_MODEL`` or the app's own."""
    return getattr(django_settings, SITE_MODEL_SETTING, None) or DEFAULT_SITE_MODEL
