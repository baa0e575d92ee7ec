"""Keep a Bento team's Stripe money flowing into Bento."""

__version__ = "0.1.0"
