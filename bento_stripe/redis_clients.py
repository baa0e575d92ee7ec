"""One Redis client per URL and process, shared by the rate limiter and the wake-ups.

A leaf of the package: it imports nothing of bento-stripe, so both the delivery loop and
the queue's wake-ups (which the delivery loop itself uses) can reach Redis without an import
cycle. The ``redis`` package is imported on first use: it is needed only when
``BENTO_STRIPE['REDIS_URL']`` is set.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis

_clients: dict[tuple[str, int], redis.Redis] = {}
_clients_lock = threading.Lock()


def client(url: str) -> redis.Redis:
    """The process's client of ``url`` (a forked worker gets its own connection pool)."""
    import redis

    with _clients_lock:
        key = (url, os.getpid())
        if key not in _clients:
            _clients[key] = redis.Redis.from_url(url)
        return _clients[key]
