"""Fixtures that run the local Stripe stand-in (example_project/stripe_standin.py) for a test."""

from __future__ import annotations

import pytest

from example_project.stripe_standin import StandInAccount, StripeStandIn, refused_url

__all__ = ["StandInAccount", "refused_url", "stripe_server", "stripe_settings"]


@pytest.fixture
def stripe_server():
    """A real HTTP server answering Stripe's OAuth and account endpoints, on a free local port."""
    with StripeStandIn() as server:
        yield server


@pytest.fixture
def stripe_settings(settings, stripe_server):
    """Point BENTO_STRIPE's Stripe addresses at the stand-in for this test."""
    settings.BENTO_STRIPE = {
        **settings.BENTO_STRIPE,
        "STRIPE_API_BASE": stripe_server.url,
        "STRIPE_CONNECT_BASE": stripe_server.url,
    }
    return settings
