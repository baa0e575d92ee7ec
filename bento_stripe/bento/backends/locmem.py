"""Keeps what would be sent in ``bento_stripe.bento.outbox`` (for tests)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from ... import bento
from .base import BaseBackend


@dataclass
class SentBatch:
    """One request the locmem backend accepted."""

    site_id: int
    site_uuid: str
    endpoint: str
    body: dict = field(default_factory=dict)

    @property
    def items(self) -> list:
        """The events, subscribers or commands of the request."""
        from ..client import ENDPOINTS

        return self.body[ENDPOINTS[self.endpoint]]


class LocmemBackend(BaseBackend):
    """Appends a ``SentBatch`` to ``bento_stripe.bento.outbox`` per request."""

    def send_batch(self, site, endpoint: str, body: dict) -> dict:
        batch = SentBatch(site.pk, site.bento_site_uuid, endpoint, copy.deepcopy(body))
        bento.outbox.append(batch)
        return {"results": len(batch.items)}
