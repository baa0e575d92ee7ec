"""The interface every Bento backend implements."""

from __future__ import annotations

from ..client import ENDPOINTS, MAX_ITEMS


class BaseBackend:
    """Sends one Bento request body for a site; raises ``BentoError`` when it did not succeed."""

    def send(self, site, endpoint: str, body: dict) -> dict:
        """Deliver ``body`` (``{"events": [...]}`` and the like) to ``endpoint`` of ``site``."""
        self.validate(endpoint, body)
        return self.send_batch(site, endpoint, body)

    def send_batch(self, site, endpoint: str, body: dict) -> dict:
        """Do the sending; subclasses implement it and return Bento's answer as a dict."""
        raise NotImplementedError(f"{type(self).__name__} must implement send_batch()")

    @staticmethod
    def validate(endpoint: str, body: dict) -> None:
        """Refuse a body Bento would refuse: unknown endpoint, no items, over 1,000 items."""
        if endpoint not in ENDPOINTS:
            raise ValueError(f"Unknown Bento endpoint {endpoint!r}: one of {sorted(ENDPOINTS)}.")
        items = body.get(ENDPOINTS[endpoint])
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
            raise ValueError(
                f"A {endpoint} body needs 1 to {MAX_ITEMS} items under {ENDPOINTS[endpoint]!r}."
            )

    @staticmethod
    def count(endpoint: str, body: dict) -> int:
        """How many items ``body`` carries."""
        return len(body.get(ENDPOINTS[endpoint], []))
