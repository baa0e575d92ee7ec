"""Stripe App installs (API access type OAuth 2.0): install links, tokens, uninstall, manifest."""
