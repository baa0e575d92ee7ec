"""A sliding-window limiter shared by every worker: in the database, or in Redis when configured.

Never more than ``RATE_LIMIT_PER_MINUTE`` grants in any 60 seconds per site and endpoint
family. The first half of the window's grants go out at once (a burst); past that,
grants are paced ``60 / (limit / 2)`` seconds apart, so a busy site keeps sending every
second or so, with fuller batches, instead of stalling for a minute once the window is
full. ``acquire`` grants a request (returns 0) or says how many seconds until one frees.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F

from ..conf import app_settings
from ..models import RateLimitWindow
from ..redis_clients import client as redis_client

WINDOW = 60.0


def _pacing(limit: int) -> tuple[int, float]:
    """(grants allowed at once, seconds between grants past them)."""
    burst = limit - limit // 2
    return burst, (WINDOW / (limit - burst) if limit > burst else 0.0)


def _wait(grants: list[float], limit: int, t: float) -> float:
    """Seconds until the next grant may go, given the window's live grants (sorted); 0: now."""
    wait = 0.0
    if len(grants) >= limit:
        wait = grants[-limit] + WINDOW - t
    burst, spacing = _pacing(limit)
    if len(grants) >= burst and spacing:
        wait = max(wait, grants[-1] + spacing - t)
    return max(0.001, wait) if wait > 0 else 0.0


class DatabaseRateLimiter:
    """The window is a row; its write lock serialises workers on PostgreSQL and SQLite alike."""

    def acquire(self, site_id: int, family: str, now: datetime, limit: int | None = None) -> float:
        limit = limit or app_settings.RATE_LIMIT_PER_MINUTE
        key = f"{site_id}:{family}"
        t = now.timestamp()
        with transaction.atomic():
            # Write first: on SQLite this takes the database write lock before we read.
            if not RateLimitWindow.objects.filter(key=key).update(version=F("version") + 1):
                try:
                    with transaction.atomic():
                        RateLimitWindow.objects.create(key=key)
                except IntegrityError:
                    pass
                RateLimitWindow.objects.filter(key=key).update(version=F("version") + 1)
            row = RateLimitWindow.objects.select_for_update().get(key=key)
            grants = sorted(g for g in row.grants if g > t - WINDOW)
            wait = _wait(grants, limit, t)
            if not wait:
                grants.append(t)
            row.grants = grants
            row.save(update_fields=["grants"])
        return wait

    def reset(self) -> None:
        """Forget every window (tests and benchmarks)."""
        RateLimitWindow.objects.all().delete()


_LUA = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local burst = tonumber(ARGV[5])
local spacing = tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
local wait = 0
if count >= limit then
  local edge = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
  wait = tonumber(edge[2]) + window - now
end
if count >= burst and spacing > 0 then
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  wait = math.max(wait, tonumber(last[2]) + spacing - now)
end
if wait <= 0 then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('EXPIRE', key, math.ceil(window) * 2)
  return '0'
end
return tostring(wait)
"""


class RedisRateLimiter:
    """The window is a sorted set per site and family, checked and updated by one Lua script."""

    prefix = "bento_stripe:ratelimit"

    def __init__(self, url: str):
        self.url = url
        self.client = redis_client(url)
        self.script = self.client.register_script(_LUA)

    def acquire(self, site_id: int, family: str, now: datetime, limit: int | None = None) -> float:
        limit = limit or app_settings.RATE_LIMIT_PER_MINUTE
        key = f"{self.prefix}:{site_id}:{family}"
        t = now.timestamp()
        burst, spacing = _pacing(limit)
        answer = self.script(
            keys=[key],
            args=[repr(t), WINDOW, limit, f"{t!r}:{uuid.uuid4().hex}", burst, repr(spacing)],
        )
        wait = float(answer)
        return 0.0 if wait <= 0 else max(0.001, wait)

    def reset(self) -> None:
        """Forget every window (tests and benchmarks)."""
        for key in self.client.scan_iter(f"{self.prefix}:*"):
            self.client.delete(key)


def get_limiter() -> DatabaseRateLimiter | RedisRateLimiter:
    """Redis when ``BENTO_STRIPE['REDIS_URL']`` is set, else the database."""
    url = app_settings.REDIS_URL
    return RedisRateLimiter(url) if url else DatabaseRateLimiter()
