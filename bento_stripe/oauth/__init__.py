"""Stripe Connect OAuth: state, the Stripe client, the flow, and its queue tasks."""
