"""Every error bento-stripe raises on purpose, in one tree.

Runtime errors derive from :class:`BentoStripeError`. Two kinds stay outside it, because
Django itself knows what to do with them: a configuration error is an
``ImproperlyConfigured`` (:class:`EncryptionKeyError`), and a webhook request that is not a
verified Stripe event is a ``SuspiciousOperation`` (:class:`InvalidWebhook`), which Django
answers with 400.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation


class BentoStripeError(Exception):
    """Root of every runtime error that bento-stripe raises on purpose."""


class EncryptionKeyError(ImproperlyConfigured):
    """No usable encryption key, or a stored value that no configured key can decrypt."""


class InvalidWebhook(SuspiciousOperation):
    """A webhook request that is not a verified Stripe event (Django answers 400)."""


# Connections and the pages that make them.


class WrongTeamError(BentoStripeError, ValueError):
    """A Stripe connection was routed to a site of another team."""


class AlreadyConnectedError(BentoStripeError):
    """A Stripe account that another team has actively connected cannot be connected again."""


class NotConnectedError(BentoStripeError, ValueError):
    """A backfill was asked of a Stripe connection that is not active."""


class InvalidState(BentoStripeError):
    """The callback's ``state`` is missing, forged, expired, replayed or not this user's."""


# Calls to Stripe.


class StripeCallError(BentoStripeError):
    """A Stripe call failed; ``kind`` is "invalid_grant", "unreachable", "server" or "refused".

    Its message carries no code, token or key.
    """

    #: Kinds worth retrying later: Stripe was unreachable or answered 5xx.
    TRANSIENT = ("unreachable", "server")

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind

    @property
    def transient(self) -> bool:
        return self.kind in self.TRANSIENT


class ReconnectNeeded(BentoStripeError):
    """The app connection has no usable token: it must be connected again (or is gone)."""


class RefreshInTransaction(BentoStripeError, RuntimeError):
    """A refresh was asked for inside a transaction: refused before Stripe is asked."""


# Reading Stripe objects.


class UnreadableObject(BentoStripeError, ValueError):
    """A Stripe object the ledger cannot read: no id, an amount that is not an integer, ...

    Raised before the ledger changes anything for the object; the event is then recorded
    as ignored with the message as its reason, never as a failed task.
    """


# Requests to Bento.


class BentoError(BentoStripeError):
    """A Bento request did not succeed; :class:`BentoRetryableError` or :class:`BentoRejectedError`."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ):
        super().__init__(message)
        self.message = message
        #: HTTP status, None for network errors.
        self.status = status
        #: Seconds Bento asked us to wait (``Retry-After``), or None.
        self.retry_after = retry_after


class BentoRetryableError(BentoError):
    """Try again later: 429, 5xx, a timeout or a connection error."""


class BentoRejectedError(BentoError):
    """Bento refused the request (a 4xx other than 429): sending it again would not help."""
