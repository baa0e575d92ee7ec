"""The app owner's Stripe secret keys, by mode, read from settings (no client, no call)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from .conf import app_settings

TEST_PREFIXES = ("sk_test_", "rk_test_")


def is_test_key(key: str) -> bool:
    return str(key).startswith(TEST_PREFIXES)


def secret_key(livemode: bool) -> str:
    """The app owner's secret key of a mode (Stripe wants the install's mode for its tokens).

    Live: ``STRIPE_SECRET_KEY``, which must be a live key. Test: ``STRIPE_TEST_SECRET_KEY``,
    else ``STRIPE_SECRET_KEY`` when that is a test key.
    """
    main = app_settings.STRIPE_SECRET_KEY
    if livemode:
        key = app_settings.require("STRIPE_SECRET_KEY")
        if is_test_key(key):
            raise ImproperlyConfigured(
                "settings.BENTO_STRIPE['STRIPE_SECRET_KEY'] is a test-mode key: live-mode "
                "Stripe App installs need the live key (sk_live_...)."
            )
        return key
    if app_settings.STRIPE_TEST_SECRET_KEY:
        return app_settings.STRIPE_TEST_SECRET_KEY
    if main and is_test_key(main):
        return main
    raise ImproperlyConfigured(
        "settings.BENTO_STRIPE['STRIPE_TEST_SECRET_KEY'] is not set: test-mode Stripe App "
        "installs need the app owner's test key (sk_test_...) while STRIPE_SECRET_KEY is live."
    )


def connect_key(livemode: bool) -> str:
    """The platform key for a Connect connection: the test key for test mode when one is set."""
    if not livemode and app_settings.STRIPE_TEST_SECRET_KEY:
        return app_settings.STRIPE_TEST_SECRET_KEY
    return app_settings.require("STRIPE_SECRET_KEY")
