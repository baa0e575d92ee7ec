"""System checks: each message names the exact ``BENTO_STRIPE`` key to fix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet
from django.apps import AppConfig
from django.conf import settings
from django.core import checks

from .conf import app_settings
from .crypto import configured_keys


@checks.register(checks.Tags.security)
def check_encryption_keys(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E001: no key outside DEBUG; E002: a key that is not a Fernet key."""
    messages: list[checks.CheckMessage] = []
    try:
        keys = configured_keys()
    except TypeError:
        keys = None
    if keys is None:
        return [
            checks.Error(
                "settings.BENTO_STRIPE['ENCRYPTION_KEYS'] must be a list of Fernet keys.",
                id="bento_stripe.E002",
            )
        ]
    if not keys and not settings.DEBUG:
        # In DEBUG an empty list is allowed: crypto derives a key from SECRET_KEY.
        messages.append(
            checks.Error(
                "settings.BENTO_STRIPE['ENCRYPTION_KEYS'] is empty: secrets cannot be "
                "stored encrypted.",
                hint="Generate one with Fernet.generate_key() and set it (env "
                "BENTO_STRIPE_ENCRYPTION_KEYS in the example project).",
                id="bento_stripe.E001",
            )
        )
    for position, key in enumerate(keys):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            messages.append(
                checks.Error(
                    f"settings.BENTO_STRIPE['ENCRYPTION_KEYS'][{position}] is not a Fernet key "
                    "(32 url-safe base64-encoded bytes).",
                    id="bento_stripe.E002",
                )
            )
    return messages


@checks.register()
def check_stripe_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """W002/W003: Stripe platform credentials missing."""
    messages: list[checks.CheckMessage] = []
    if not app_settings.STRIPE_SECRET_KEY:
        messages.append(
            checks.Warning(
                "settings.BENTO_STRIPE['STRIPE_SECRET_KEY'] is empty: Stripe API calls "
                "(OAuth token exchange, email lookups, disconnect) will fail.",
                id="bento_stripe.W002",
            )
        )
    if not app_settings.STRIPE_CONNECT_CLIENT_ID:
        messages.append(
            checks.Warning(
                "settings.BENTO_STRIPE['STRIPE_CONNECT_CLIENT_ID'] is empty: teams cannot "
                "connect Stripe accounts.",
                hint="Copy the ca_... id from Stripe Dashboard → Settings → Connect.",
                id="bento_stripe.W003",
            )
        )
    return messages


@checks.register()
def check_delivery_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E003: batch size outside Bento's limit; E004: rate limit above Bento's; W004: plain http."""
    messages: list[checks.CheckMessage] = []
    batch = app_settings.BATCH_SIZE
    if not isinstance(batch, int) or not 1 <= batch <= 1000:
        messages.append(
            checks.Error(
                "settings.BENTO_STRIPE['BATCH_SIZE'] must be an integer from 1 to 1000 "
                "(Bento accepts at most 1,000 events a request).",
                id="bento_stripe.E003",
            )
        )
    rate = app_settings.RATE_LIMIT_PER_MINUTE
    if not isinstance(rate, int) or not 1 <= rate <= 100:
        messages.append(
            checks.Error(
                "settings.BENTO_STRIPE['RATE_LIMIT_PER_MINUTE'] must be an integer from 1 to 100 "
                "(Bento allows 100 requests a minute per endpoint family).",
                id="bento_stripe.E004",
            )
        )
    if not settings.DEBUG and str(app_settings.API_URL).startswith("http://"):
        messages.append(
            checks.Warning(
                "settings.BENTO_STRIPE['API_URL'] uses plain http outside DEBUG: Bento keys "
                "would cross the network unencrypted.",
                id="bento_stripe.W004",
            )
        )
    return messages


@checks.register()
def check_processing_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E006: a processing setting out of range; E007: wake-ups could be lost."""
    messages: list[checks.CheckMessage] = []
    for key, low, high in (
        ("PROCESS_BATCH_SIZE", 1, 1000),
        ("PROCESS_MAX_ATTEMPTS", 1, 100),
        ("PROCESS_LEASE_SECONDS", 10, 3600),
    ):
        value = getattr(app_settings, key)
        if not isinstance(value, int) or not low <= value <= high:
            messages.append(
                checks.Error(
                    f"settings.BENTO_STRIPE['{key}'] must be an integer from {low} to {high}.",
                    id="bento_stripe.E006",
                )
            )
    timeout = (getattr(settings, "Q_CLUSTER", None) or {}).get("timeout")
    for key in ("PROCESS_BUDGET", "LOOKUP_BUDGET"):
        value = getattr(app_settings, key)
        if not isinstance(value, int | float) or value <= 0 or (timeout and value >= timeout):
            messages.append(
                checks.Error(
                    f"settings.BENTO_STRIPE['{key}'] must be a positive number of seconds below "
                    f"Q_CLUSTER['timeout'] ({timeout}): django-q2 kills a task at its timeout.",
                    id="bento_stripe.E006",
                )
            )
    linger, interval = app_settings.PROCESS_LINGER, app_settings.PROCESS_WAKE_INTERVAL
    if not (
        isinstance(linger, int | float) and isinstance(interval, int | float) and linger > interval
    ):
        messages.append(
            checks.Error(
                "settings.BENTO_STRIPE['PROCESS_LINGER'] must be longer than "
                "['PROCESS_WAKE_INTERVAL']: a web process skips wake-ups within the interval "
                "because the woken task is still looking for events.",
                id="bento_stripe.E007",
            )
        )
    short, longest = app_settings.GATHER_SECONDS, app_settings.GATHER_MAX_SECONDS
    numbers = isinstance(short, int | float) and isinstance(longest, int | float)
    if not numbers or not 0 <= short <= longest <= 30:
        messages.append(
            checks.Error(
                "settings.BENTO_STRIPE['GATHER_SECONDS'] and ['GATHER_MAX_SECONDS'] must be "
                "numbers with 0 <= GATHER_SECONDS <= GATHER_MAX_SECONDS <= 30.",
                id="bento_stripe.E006",
            )
        )
    return messages


@checks.register(checks.Tags.security)
def check_webhook_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E008: WEBHOOK_TRUSTED_PROXIES holds something that is not an address or a range."""
    from .webhooks.client_ip import trusted_networks

    try:
        trusted_networks()
    except (ValueError, TypeError) as exc:
        return [
            checks.Error(
                "settings.BENTO_STRIPE['WEBHOOK_TRUSTED_PROXIES'] must be a list of IP "
                f"addresses or CIDR ranges of your own proxies ({exc}).",
                hint="For example ['10.0.0.0/8']; leave it empty when Django faces the "
                "internet directly.",
                id="bento_stripe.E008",
            )
        ]
    return []


@checks.register()
def check_backend(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E005: BACKEND is neither a known short name nor an importable BaseBackend subclass."""
    from django.core.exceptions import ImproperlyConfigured

    from .bento.backends import get_backend_class

    try:
        get_backend_class()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="bento_stripe.E005")]
    return []


#: Apps the REST API, its tokens, filters, schema and docs need, with what each is for.
API_APPS = {
    "rest_framework": "the REST API",
    "knox": "API tokens (the API tokens page and the token authentication)",
    "django_filters": "the REST API's filters",
    "drf_spectacular": "the API schema and docs",
    "drf_spectacular_sidecar": "the API docs' local static files",
}


@checks.register()
def check_api_apps(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E020: an app the REST API and the API tokens page need is not installed."""
    from django.apps import apps

    return [
        checks.Error(
            f"bento-stripe needs {name!r} in INSTALLED_APPS for {purpose}.",
            hint=f'Add "{name}" to INSTALLED_APPS (README: Installing into an existing project).',
            id="bento_stripe.E020",
        )
        for name, purpose in API_APPS.items()
        if not apps.is_installed(name)
    ]
