"""Backfill of a connection's Stripe history into the ledger, and nightly reconciliation.

``services`` is the entry point (start, state, stop, run in the foreground); ``engine``
applies one page of one resource through the unit of work; ``pages`` reads Stripe's
list endpoints politely; ``reconcile`` replays Stripe's events list since the last run.
"""
