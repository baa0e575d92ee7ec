"""Sends ``signals.bento_batch`` per batch, for a host that is Bento itself."""

from __future__ import annotations

from ... import signals
from .base import BaseBackend


class SignalBackend(BaseBackend):
    """Hands each batch to in-process receivers; a receiver that raises makes the batch retry."""

    def send_batch(self, site, endpoint: str, body: dict) -> dict:
        responses = signals.bento_batch.send(
            sender=type(self), site=site, endpoint=endpoint, body=body
        )
        return {"results": self.count(endpoint, body), "receivers": len(responses)}
