"""Settings of the example project: every knob comes from an environment variable."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from bento_stripe.api.schema_settings import SCHEMA_SETTINGS as BENTO_STRIPE_SCHEMA_SETTINGS

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DJANGO_DEBUG", True)
#: Development only: with DJANGO_DEBUG off the server refuses to start without its own key.
DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"  # noqa: S105
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "" if not DEBUG else DEV_SECRET_KEY)
if not DEBUG and not SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set: with DJANGO_DEBUG off the example project needs its own "
        "secret key (python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )
if not DEBUG and not os.environ.get("BENTO_STRIPE_ENCRYPTION_KEYS", "").strip(","):
    raise ImproperlyConfigured(
        "BENTO_STRIPE_ENCRYPTION_KEYS is not set: with DJANGO_DEBUG off secrets are encrypted "
        "with your own Fernet keys (python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())')."
    )
ALLOWED_HOSTS = [
    h
    for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(
        ","
    )
    if h
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "djstripe",
    "bento_stripe",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# HTTPS outside DEBUG (what `manage.py check --deploy` asks for; README: "Running it in
# production"). Behind a proxy that terminates TLS, name the header it sets.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
if os.environ.get("DJANGO_SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + os.environ["DJANGO_SECURE_PROXY_SSL_HEADER"].upper().replace("-", "_"),
        "https",
    )

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        # Persistent connections: a new PostgreSQL connection per request costs more than
        # the webhook's own work (make bench shows it). 0 closes them after each request.
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The web server and several qcluster workers write at once: take SQLite's write lock at
    # BEGIN and wait for it, instead of failing with "database is locked" on lock upgrade;
    # the WAL journal lets readers go on while one process writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = []
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
LOGIN_URL = "/admin/login/"
LOGIN_REDIRECT_URL = "/account/teams/"

# --- Stripe (dj-stripe reads its own names; bento-stripe reads BENTO_STRIPE) ---
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "sk_test_placeholder_not_a_real_key")
STRIPE_CONNECT_CLIENT_ID = os.environ.get("STRIPE_CONNECT_CLIENT_ID", "ca_placeholder_client_id")
STRIPE_LIVE_MODE = STRIPE_SECRET_KEY.startswith("sk_live_")
# The app owner's test-mode key, for test-mode Stripe App installs while the main key is live.
STRIPE_TEST_SECRET_KEY = (
    STRIPE_SECRET_KEY if not STRIPE_LIVE_MODE else os.environ.get("STRIPE_TEST_SECRET_KEY", "")
)
STRIPE_LIVE_SECRET_KEY = STRIPE_SECRET_KEY if STRIPE_LIVE_MODE else ""
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"

BENTO_STRIPE = {
    "STRIPE_SECRET_KEY": STRIPE_SECRET_KEY,
    "STRIPE_CONNECT_CLIENT_ID": STRIPE_CONNECT_CLIENT_ID,
    "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE", "https://api.stripe.com"),
    "STRIPE_CONNECT_BASE": os.environ.get("STRIPE_CONNECT_BASE", "https://connect.stripe.com"),
    # How new connections are made: "connect" (Connect OAuth) or "app" (Stripe App install links).
    "STRIPE_INSTALL_KIND": os.environ.get("STRIPE_INSTALL_KIND", "connect"),
    "STRIPE_APP_INSTALL_URL": os.environ.get("STRIPE_APP_INSTALL_URL", ""),
    "STRIPE_APP_TEST_INSTALL_URL": os.environ.get("STRIPE_APP_TEST_INSTALL_URL", ""),
    "STRIPE_TEST_SECRET_KEY": os.environ.get("STRIPE_TEST_SECRET_KEY", ""),
    "API_URL": os.environ.get("BENTO_API_URL", "https://app.bentonow.com/api/v1"),
    "BACKEND": os.environ.get("BENTO_BACKEND", "http"),
    "DELIVERY_CONCURRENCY": int(os.environ.get("BENTO_DELIVERY_CONCURRENCY", "4")),
    "ENCRYPTION_KEYS": [
        k for k in os.environ.get("BENTO_STRIPE_ENCRYPTION_KEYS", "").split(",") if k
    ],
    # Prometheus metrics at /stripe/metrics/ (staff, and the scrapers listed here).
    "METRICS_ENABLED": env_bool("BENTO_STRIPE_METRICS_ENABLED", False),
    "METRICS_ALLOWED_IPS": [
        a.strip()
        for a in os.environ.get("BENTO_STRIPE_METRICS_ALLOWED_IPS", "").split(",")
        if a.strip()
    ],
}

# --- django-q2: the ORM broker by default, Redis when REDIS_URL is set ---
REDIS_URL = os.environ.get("REDIS_URL", "")
Q_CLUSTER = {
    "name": "bento_stripe",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    "timeout": 60,
    "retry": 120,
    "max_attempts": 0,
    "queue_limit": 100,
    "catch_up": False,
    "ack_failures": True,
    "poll": 0.5,
}
# Separate queues (Q_SEPARATE_QUEUES=1): Stripe events on the default cluster, delivery
# loops and backfills on clusters of their own, each run by its own qcluster process:
#   manage.py qcluster                                         (processing, schedules)
#   Q_CLUSTER_NAME=bento_stripe_delivery manage.py qcluster    (delivery loops)
#   Q_CLUSTER_NAME=bento_stripe_backfill manage.py qcluster    (backfill, reconciliation)
# so a delivery loop never waits behind processing tasks and a long backfill never
# delays live events (docs/operations/scaling.rst). Off: everything on one cluster.
if os.environ.get("Q_SEPARATE_QUEUES"):
    Q_CLUSTER["ALT_CLUSTERS"] = {
        "bento_stripe_delivery": {"workers": int(os.environ.get("Q_DELIVERY_WORKERS", "1"))},
        "bento_stripe_backfill": {"workers": int(os.environ.get("Q_BACKFILL_WORKERS", "1"))},
    }
    BENTO_STRIPE["QUEUES"] = {
        "delivery": "bento_stripe_delivery",
        "backfill": "bento_stripe_backfill",
    }
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
    BENTO_STRIPE["REDIS_URL"] = REDIS_URL  # the delivery rate limiter shares Redis too
else:
    Q_CLUSTER["orm"] = "default"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# The OpenAPI schema of bento-stripe's API (its schema and docs views apply these
# settings themselves; here for `manage.py spectacular`): only bento-stripe's endpoints,
# Swagger UI from drf-spectacular-sidecar's local files.
SPECTACULAR_SETTINGS = {**BENTO_STRIPE_SCHEMA_SETTINGS}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "bento_stripe": {
            "handlers": ["console"],
            "level": os.environ.get("BENTO_STRIPE_LOG_LEVEL", "INFO"),
        },
    },
}
