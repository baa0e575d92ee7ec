"""Writes each batch readably to stdout (the demo's backend)."""

from __future__ import annotations

import json
import sys
import threading

from ..client import ENDPOINTS
from .base import BaseBackend

_write_lock = threading.Lock()


class ConsoleBackend(BaseBackend):
    """Prints ``POST /<endpoint>`` with the site and every item, fields included."""

    def __init__(self, stream=None):
        self.stream = stream

    def send_batch(self, site, endpoint: str, body: dict) -> dict:
        stream = self.stream or sys.stdout
        items = body[ENDPOINTS[endpoint]]
        lines = [
            f"── Bento POST /{endpoint}?site_uuid={site.bento_site_uuid} "
            f"({site.name}, {len(items)} item{'s' if len(items) != 1 else ''})"
        ]
        for item in items:
            lines.append(json.dumps(item, indent=2, sort_keys=True, default=str))
        with _write_lock:
            stream.write("\n".join(lines) + "\n")
            stream.flush()
        return {"results": len(items)}
