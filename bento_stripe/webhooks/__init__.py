"""The Stripe webhook receiver: view, verification, processing task and sweeper."""
