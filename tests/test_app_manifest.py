"""The Stripe App manifest: its shape, and a permission for every event type handled."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bento_stripe.stripe_app import manifest
from bento_stripe.translators.registry import registry, translator

CALLBACK = "https://app.example.com/account/oauth/stripe_accounts/callback"


def run(*args) -> dict:
    out = io.StringIO()
    call_command("bento_stripe_app_manifest", *args, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def test_the_manifest_asks_for_oauth_public_and_the_redirect_uris():
    data = run("--redirect-uri", CALLBACK, "--redirect-uri", "http://localhost:8000/cb/x")
    assert data["stripe_api_access_type"] == "oauth"
    assert data["distribution_type"] == "public"
    assert data["allowed_redirect_uris"] == [CALLBACK, "http://localhost:8000/cb/x"]
    names = [p["permission"] for p in data["permissions"]]
    assert names[0] == "event_read" and len(names) == len(set(names))
    assert {"charge_read", "dispute_read", "customer_read", "subscription_read"} <= set(names)
    assert {"invoice_read", "checkout_session_read", "coupon_read"} <= set(names)
    # Naming products: product and price events and lookups, checkout sessions' line items.
    assert {"product_read", "plan_read"} <= set(names)
    assert all(p["purpose"].strip() for p in data["permissions"])
    assert not any(name.endswith("_write") for name in names)


def test_every_handled_event_type_has_a_permission():
    types = registry.handled_types()
    assert types and manifest.unmapped() == []
    for event_type in types:
        rule = manifest.rule_for(event_type)
        assert rule is not None, event_type
        if rule.permission:
            assert rule.permission in [p["permission"] for p in manifest.permissions()]


def test_a_new_translator_brings_its_permission_or_is_named():
    @translator("customer.source.created")
    def source(ctx):
        return []

    try:
        assert "customer_read" in [p["permission"] for p in manifest.permissions()]
    finally:
        registry.unregister("customer.source.created")

    @translator("payout.paid")
    def payout(ctx):
        return []

    try:
        with pytest.raises(CommandError, match="payout.paid"):
            run("--redirect-uri", CALLBACK)
    finally:
        registry.unregister("payout.paid")


def test_a_redirect_uri_without_a_path_is_refused():
    with pytest.raises(CommandError, match="with a path"):
        run("--redirect-uri", "https://app.example.com")
