"""The Bento event as sent (``event``), the client and delivery backends (chosen like Django's
EMAIL_BACKEND)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backends.base import BaseBackend

#: What the locmem backend would have sent: one ``SentBatch`` per request (tests clear it).
outbox: list = []


def get_backend(name: str | None = None, **kwargs: Any) -> BaseBackend:
    """The configured backend instance (``BENTO_STRIPE['BACKEND']`` or ``name``)."""
    from .backends import get_backend as _get_backend

    return _get_backend(name, **kwargs)
