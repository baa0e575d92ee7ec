"""System checks name the exact BENTO_STRIPE key to fix."""

import pytest
from django.conf import settings
from django.test import override_settings

from bento_stripe.checks import (
    check_delivery_settings,
    check_encryption_keys,
    check_processing_settings,
    check_setting_types,
    check_stripe_settings,
    check_unknown_settings,
    check_webhook_settings,
)


def bento(**values):
    return override_settings(BENTO_STRIPE={**settings.BENTO_STRIPE, **values})


def ids(messages):
    return sorted(m.id for m in messages)


def test_no_encryption_keys_outside_debug_is_an_error():
    with bento(ENCRYPTION_KEYS=[]), override_settings(DEBUG=False):
        messages = check_encryption_keys()
    assert ids(messages) == ["bento_stripe.E001"]
    assert "BENTO_STRIPE['ENCRYPTION_KEYS']" in messages[0].msg


def test_no_encryption_keys_in_debug_is_allowed():
    with bento(ENCRYPTION_KEYS=[]), override_settings(DEBUG=True):
        assert check_encryption_keys() == []


def test_invalid_key_names_its_position():
    with bento(ENCRYPTION_KEYS=[settings.TEST_ENCRYPTION_KEYS[0], "not-a-key"]):
        messages = check_encryption_keys()
    assert ids(messages) == ["bento_stripe.E002"]
    assert "ENCRYPTION_KEYS'][1]" in messages[0].msg


def test_valid_settings_have_no_messages():
    assert check_encryption_keys() == []
    assert check_stripe_settings() == []
    assert check_delivery_settings() == []
    assert check_processing_settings() == []


def test_missing_stripe_credentials():
    with bento(STRIPE_SECRET_KEY="", STRIPE_CONNECT_CLIENT_ID=""):
        assert ids(check_stripe_settings()) == ["bento_stripe.W002", "bento_stripe.W003"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"BATCH_SIZE": 1001}, ["bento_stripe.E003"]),
        ({"BATCH_SIZE": 0}, ["bento_stripe.E003"]),
        ({"RATE_LIMIT_PER_MINUTE": 101}, ["bento_stripe.E004"]),
        ({"BATCH_SIZE": 1000, "RATE_LIMIT_PER_MINUTE": 100}, []),
    ],
)
def test_delivery_limits(values, expected):
    with bento(**values):
        assert ids(check_delivery_settings()) == expected


def test_plain_http_api_url_outside_debug_warns():
    with bento(API_URL="http://bento.local/api/v1"), override_settings(DEBUG=False):
        assert ids(check_delivery_settings()) == ["bento_stripe.W004"]


@pytest.mark.parametrize(
    ("values", "q_cluster", "expected"),
    [
        ({"PROCESS_BATCH_SIZE": 0}, {}, ["bento_stripe.E006"]),
        ({"PROCESS_BATCH_SIZE": "100"}, {}, ["bento_stripe.E006"]),
        ({"PROCESS_BUDGET": 60}, {"timeout": 60}, ["bento_stripe.E006"]),
        ({"LOOKUP_BUDGET": 90}, {"timeout": 60}, ["bento_stripe.E006"]),
        ({"PROCESS_BUDGET": 50, "LOOKUP_BUDGET": 50}, {"timeout": 60}, []),
        ({"PROCESS_LINGER": 0.2, "PROCESS_WAKE_INTERVAL": 0.25}, {}, ["bento_stripe.E007"]),
        # A process that lost the shared marker skips asking for half an interval more.
        ({"PROCESS_LINGER": 0.3, "PROCESS_WAKE_INTERVAL": 0.25}, {}, ["bento_stripe.E007"]),
        ({"GATHER_SECONDS": 2.0, "GATHER_MAX_SECONDS": 1.0}, {}, ["bento_stripe.E006"]),
        ({"GATHER_SECONDS": 0, "GATHER_MAX_SECONDS": 0}, {}, []),
    ],
)
def test_processing_settings(values, q_cluster, expected):
    with bento(**values), override_settings(Q_CLUSTER={**settings.Q_CLUSTER, **q_cluster}):
        messages = check_processing_settings()
    assert ids(messages) == expected
    assert all("BENTO_STRIPE['" in m.msg for m in messages)


@pytest.mark.parametrize("value", [["10.0.0.0/8", "192.0.2.1", "2001:db8::/32"], [], "10.0.0.1"])
def test_trusted_proxies_may_be_addresses_and_ranges(value):
    with bento(WEBHOOK_TRUSTED_PROXIES=value):
        assert check_webhook_settings() == []


@pytest.mark.parametrize("value", [["10.0.0.0/8", "proxy.internal"], ["300.1.1.1"], 42])
def test_a_trusted_proxy_that_is_no_address_is_an_error(value):
    with bento(WEBHOOK_TRUSTED_PROXIES=value):
        messages = check_webhook_settings()
    assert ids(messages) == ["bento_stripe.E008"]
    assert "BENTO_STRIPE['WEBHOOK_TRUSTED_PROXIES']" in messages[0].msg


# --- Stripe App installs ---------------------------------------------------------------------

LIVE_LINK = "https://marketplace.stripe.com/oauth/v2/authorize?client_id=ca_App1"
TEST_LINK = "https://marketplace.stripe.com/oauth/v2/chnlink_T1/authorize?client_id=ca_App1"


def app_ids(**values):
    from bento_stripe.checks import check_stripe_app_settings

    with bento(**values), override_settings(DEBUG=False):
        return ids(check_stripe_app_settings())


def test_app_settings_are_quiet_by_default_and_when_complete():
    assert app_ids() == []
    assert (
        app_ids(
            STRIPE_INSTALL_KIND="app",
            STRIPE_APP_INSTALL_URL=LIVE_LINK,
            STRIPE_APP_TEST_INSTALL_URL=TEST_LINK,
            STRIPE_SECRET_KEY="sk_live_owner",
            STRIPE_TEST_SECRET_KEY="sk_test_owner",
        )
        == []
    )


def test_app_settings_errors_name_the_key():
    assert app_ids(STRIPE_INSTALL_KIND="oauth2") == ["bento_stripe.E009"]
    assert app_ids(STRIPE_INSTALL_KIND="app") == ["bento_stripe.E010"]
    assert app_ids(STRIPE_APP_TEST_INSTALL_URL="marketplace.stripe.com/authorize") == [
        "bento_stripe.E011"
    ]
    assert app_ids(STRIPE_TEST_SECRET_KEY="sk_live_oops") == ["bento_stripe.E012"]


def test_app_links_without_a_key_of_their_mode_warn():
    # The test settings' platform key is a test key: a live link has no live key.
    assert app_ids(STRIPE_INSTALL_KIND="app", STRIPE_APP_INSTALL_URL=LIVE_LINK) == [
        "bento_stripe.W006"
    ]
    assert app_ids(
        STRIPE_APP_TEST_INSTALL_URL=TEST_LINK,
        STRIPE_SECRET_KEY="sk_live_owner",
    ) == ["bento_stripe.W006"]
    assert app_ids(STRIPE_APP_TEST_INSTALL_URL=TEST_LINK.replace("https", "http")) == [
        "bento_stripe.W005"
    ]


def test_app_kind_needs_no_connect_client_id():
    with bento(STRIPE_INSTALL_KIND="app", STRIPE_CONNECT_CLIENT_ID=""):
        assert check_stripe_settings() == []


def test_an_unknown_key_is_named_with_the_closest_known_one():
    with bento(BATCH_SIZ=50, SOMETHING_ELSE=1):
        messages = check_unknown_settings()
    assert ids(messages) == ["bento_stripe.E028", "bento_stripe.E028"]
    by_key = {m.msg.split("'")[1]: m for m in messages}
    assert by_key["BATCH_SIZ"].hint == "Did you mean 'BATCH_SIZE'?"
    assert "settings reference" in by_key["SOMETHING_ELSE"].hint


def test_known_keys_pass_the_unknown_key_check():
    assert check_unknown_settings() == []


def test_a_value_of_the_wrong_type_is_named_with_the_declared_type():
    with bento(
        BATCH_SIZE="50",  # read from the environment without int()
        METRICS_ENABLED=1,
        HTTP_TIMEOUT=(5.0, "30"),
        QUEUES={"delivery": 2},
        RATE_LIMIT_PER_MINUTE=True,
    ):
        messages = check_setting_types()
    by_key = {m.msg.split("'")[1]: m for m in messages}
    assert set(by_key) == {
        "BATCH_SIZE",
        "METRICS_ENABLED",
        "HTTP_TIMEOUT",
        "QUEUES",
        "RATE_LIMIT_PER_MINUTE",
    }
    assert {m.id for m in messages} == {"bento_stripe.E029"}
    assert "is str '50', not int" in by_key["BATCH_SIZE"].msg
    assert "not tuple[float, float] | float" in by_key["HTTP_TIMEOUT"].msg


def test_values_of_their_declared_types_pass_including_ints_for_floats():
    with bento(
        HTTP_TIMEOUT=(5, 30.0),
        LOOKUP_TIMEOUT=2,
        ENCRYPTION_KEYS=",".join(settings.TEST_ENCRYPTION_KEYS),
        METRICS_ALLOWED_IPS=("10.0.0.0/8",),
        QUEUES={"delivery": "bento_delivery"},
    ):
        assert check_setting_types() == []
    assert check_setting_types() == []  # the test settings themselves
