"""Exceptions raised by bento-stripe."""

from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation


class BentoStripeError(Exception):
    """Root of every runtime error that bento-stripe raises on purpose."""


class EncryptionKeyError(ImproperlyConfigured):
    """No usable encryption key, or a stored value that no configured key can decrypt."""


class WrongTeamError(BentoStripeError, ValueError):
    """A Stripe connection was routed to a site of another team."""


class InvalidWebhook(SuspiciousOperation):
    """A webhook request that is not a verified Stripe event (Django answers 400)."""


class AlreadyConnectedError(BentoStripeError):
    """A Stripe account that another team has actively connected cannot be connected again."""


class NotConnectedError(BentoStripeError, ValueError):
    """A backfill was asked of a Stripe connection that is not active."""
