"""System checks of the ``BENTO_STRIPE`` settings: each message names the exact key to fix."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet
from django.apps import AppConfig
from django.conf import settings
from django.core import checks

from ..conf import DEFAULTS, app_settings
from ..crypto import configured_keys


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
    kind = str(app_settings.STRIPE_INSTALL_KIND or "connect").strip().lower()
    if not app_settings.STRIPE_CONNECT_CLIENT_ID and kind != "app":
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
def check_stripe_app_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E009: unknown install kind; E010: app installs without a link; E011: a link that is not
    one; E012: a test key that is not one; W005: a link over plain http; W006: no key of a
    link's mode."""
    from urllib.parse import parse_qs, urlsplit

    from ..stripe_keys import is_test_key

    messages: list[checks.CheckMessage] = []
    kind = str(app_settings.STRIPE_INSTALL_KIND or "connect").strip().lower()
    if kind not in ("connect", "app"):
        messages.append(
            checks.Error(
                "settings.BENTO_STRIPE['STRIPE_INSTALL_KIND'] must be 'connect' (Connect OAuth) "
                f"or 'app' (a Stripe App with OAuth install links), not {kind!r}.",
                id="bento_stripe.E009",
            )
        )
    links = {
        "STRIPE_APP_INSTALL_URL": True,
        "STRIPE_APP_TEST_INSTALL_URL": False,
    }
    configured = {k: str(getattr(app_settings, k) or "").strip() for k in links}
    if kind == "app" and not any(configured.values()):
        messages.append(
            checks.Error(
                "settings.BENTO_STRIPE['STRIPE_APP_INSTALL_URL'] and "
                "['STRIPE_APP_TEST_INSTALL_URL'] are both empty while STRIPE_INSTALL_KIND is "
                "'app': teams cannot install the Stripe App.",
                hint="Copy the install links from the app's page in the Stripe Dashboard "
                "(External test tab before the app is published).",
                id="bento_stripe.E010",
            )
        )
    main = str(app_settings.STRIPE_SECRET_KEY or "")
    test_key = str(app_settings.STRIPE_TEST_SECRET_KEY or "")
    for key, live in links.items():
        link = configured[key]
        if not link:
            continue
        parts = urlsplit(link)
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or not parse_qs(parts.query).get("client_id")
        ):
            messages.append(
                checks.Error(
                    f"settings.BENTO_STRIPE[{key!r}] must be the install link as Stripe shows "
                    "it (https://marketplace.stripe.com/oauth/v2/.../authorize?client_id=...).",
                    id="bento_stripe.E011",
                )
            )
        elif parts.scheme == "http" and not settings.DEBUG:
            messages.append(
                checks.Warning(
                    f"settings.BENTO_STRIPE[{key!r}] uses plain http outside DEBUG.",
                    id="bento_stripe.W005",
                )
            )
        has_key = (main and not is_test_key(main)) if live else (test_key or is_test_key(main))
        if not has_key:
            needed = "STRIPE_SECRET_KEY (sk_live_...)" if live else "STRIPE_TEST_SECRET_KEY"
            messages.append(
                checks.Warning(
                    f"settings.BENTO_STRIPE[{key!r}] is set but there is no "
                    f"{'live' if live else 'test'}-mode key for its token exchange: set {needed}.",
                    id="bento_stripe.W006",
                )
            )
    if test_key and not is_test_key(test_key):
        messages.append(
            checks.Error(
                "settings.BENTO_STRIPE['STRIPE_TEST_SECRET_KEY'] must be a test-mode key "
                "(sk_test_... or rk_test_...).",
                id="bento_stripe.E012",
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
        isinstance(linger, int | float)
        and isinstance(interval, int | float)
        and linger > 1.5 * interval
    ):
        messages.append(
            checks.Error(
                "settings.BENTO_STRIPE['PROCESS_LINGER'] must be longer than 1.5 times "
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
    from ..webhooks.client_ip import trusted_networks

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

    from ..bento.backends import get_backend_class

    try:
        get_backend_class()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="bento_stripe.E005")]
    return []


@checks.register()
def check_backfill_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E026: a backfill or reconciliation setting out of range."""
    messages: list[checks.CheckMessage] = []
    timeout = (getattr(settings, "Q_CLUSTER", None) or {}).get("timeout")
    for key, low, high in (
        ("RECONCILE_EVERY_MINUTES", 5, 7 * 24 * 60),
        ("RECONCILE_FIRST_WINDOW", 60, 30 * 24 * 60 * 60),
        ("BACKFILL_MAX_RETRIES", 0, 20),
        ("BACKFILL_MAX_ATTEMPTS", 1, 100),
        ("BACKFILL_STALE_AFTER", 60, 24 * 60 * 60),
        ("BACKFILL_UNIT_OBJECTS", 1, 5000),
    ):
        value = getattr(app_settings, key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            messages.append(
                checks.Error(
                    f"settings.BENTO_STRIPE['{key}'] must be an integer from {low} to {high}.",
                    id="bento_stripe.E026",
                )
            )
    budget = app_settings.BACKFILL_TASK_BUDGET
    if not isinstance(budget, int | float) or budget <= 0 or (timeout and budget >= timeout):
        messages.append(
            checks.Error(
                "settings.BENTO_STRIPE['BACKFILL_TASK_BUDGET'] must be a positive number of "
                f"seconds below Q_CLUSTER['timeout'] ({timeout}): django-q2 kills a task at "
                "its timeout.",
                id="bento_stripe.E026",
            )
        )
    call = app_settings.BACKFILL_TIMEOUT
    if not isinstance(call, int | float) or call <= 0:
        messages.append(
            checks.Error(
                "settings.BENTO_STRIPE['BACKFILL_TIMEOUT'] must be a positive number of seconds.",
                id="bento_stripe.E026",
            )
        )
    return messages


@checks.register()
def check_unknown_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E028: a key of ``BENTO_STRIPE`` that the app does not know (a misspelling is ignored
    silently otherwise), with the closest known key."""
    given = getattr(settings, "BENTO_STRIPE", None)
    if not isinstance(given, dict):
        return []
    messages: list[checks.CheckMessage] = []
    for key in sorted(set(given) - set(DEFAULTS), key=str):
        close = difflib.get_close_matches(str(key), list(DEFAULTS), n=1)
        messages.append(
            checks.Error(
                f"settings.BENTO_STRIPE has an unknown key {key!r}: bento-stripe ignores it.",
                hint=f"Did you mean {close[0]!r}?"
                if close
                else "Remove it, or check the settings reference for the key you meant.",
                id="bento_stripe.E028",
            )
        )
    return messages
