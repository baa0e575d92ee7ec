"""Connecting accounts: Stripe Connect OAuth (state, client, flow), a Stripe App install
(``app_install``: install links, the account's name, uninstall), and their queue tasks."""
