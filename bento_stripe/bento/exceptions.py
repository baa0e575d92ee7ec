"""Errors of a Bento request: retryable (429, 5xx, network) or rejected (other 4xx)."""

from __future__ import annotations

from ..exceptions import BentoStripeError


class BentoError(BentoStripeError):
    """A Bento request did not succeed."""

    retryable = True

    def __init__(self, message: str, *, status: int | None = None, retry_after=None):
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

    retryable = False
