"""System checks of the operations settings (E040-E042, W020)."""

from __future__ import annotations

import pytest

from bento_stripe.checks import check_operations_settings


def ids(settings, **values) -> list[str]:
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, **values}
    return [m.id for m in check_operations_settings()]


def test_the_defaults_pass(settings):
    assert ids(settings) == []


@pytest.mark.parametrize("days", [3, 0, -1, "30", 4.5, None])
def test_retention_below_four_days_or_not_a_number_is_refused(settings, days):
    assert ids(settings, RETENTION_DAYS=days) == ["bento_stripe.E040"]


def test_four_days_pass(settings):
    assert ids(settings, RETENTION_DAYS=4) == []


@pytest.mark.parametrize(
    "values",
    [
        {"PRUNE_BATCH_SIZE": 0},
        {"HEALTH_MAX_EVENT_AGE": "300"},
        {"HEALTH_MAX_DELIVERY_AGE": -1},
        {"HEALTH_MAX_DEAD_DELIVERIES": -1},
    ],
)
def test_thresholds_must_be_positive_numbers(settings, values):
    assert ids(settings, **values) == ["bento_stripe.E041"]


def test_scraper_addresses(settings):
    assert ids(settings, METRICS_ALLOWED_IPS=["10.0.0.0/8", "192.0.2.7"]) == []
    assert ids(settings, METRICS_ALLOWED_IPS=["not-an-ip"]) == ["bento_stripe.E042"]
    assert ids(settings, METRICS_ALLOWED_IPS="10.0.0.0/8") == ["bento_stripe.E042"]
    assert ids(settings, METRICS_ALLOWED_IPS=["0.0.0.0/0"]) == ["bento_stripe.W020"]


@pytest.mark.django_db
def test_the_check_is_registered(settings):
    from django.core import checks

    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "RETENTION_DAYS": 1}
    assert "bento_stripe.E040" in [m.id for m in checks.run_checks()]
