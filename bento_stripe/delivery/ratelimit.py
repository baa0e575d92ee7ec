"""A sliding-window limiter shared by every worker: in the database, or in Redis when configured.

Never more than ``RATE_LIMIT_PER_MINUTE`` grants in any 60 seconds per site and endpoint
family. A tenth of the limit may go at once (a burst); past that, grants are paced
``WINDOW / (limit - burst)`` seconds apart (0.69 s at 100). The pace is the one a site can
keep for ever: a window never holds more than the burst plus what the pace lets in, so a
busy site never stalls for the rest of a minute, and at a steady stream it uses nine
tenths of its limit, a request about every 0.7 s, so a row waits about a third of a
second for its request. (A burst of half the limit would leave a pace of 1.24 s for the
other half: a steady stream would wait twice as long, using half the limit.)
``acquire`` grants a request (returns 0) or says how many seconds until one frees.

Bento counts a request when it arrives, which is a little after the grant (the rows are
marked as sending, the connection is opened). A site kept at the limit would otherwise
show 101 requests in some minute at Bento's end, so each grant is remembered for
``MARGIN`` seconds longer than Bento's minute: a saturated site sends 100 requests in
62 seconds, never 101 in 60, as long as no request takes longer than ``MARGIN`` to leave.

A Redis that restarts empty forgets every window. The limiter notices (its marker key is
gone while the database remembers that Redis held windows before) and grants nothing for
one window: the requests of the minute before the loss are unknown, and a site may have
had its hundred. Deliveries wait about a minute after such a restart; Bento's limit holds.
A first start (no marker anywhere) waits for nothing, nor does a process that starts within
``FIRST_START`` seconds of another's first start (it finds the row the other just made).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F

from ..conf import app_settings
from ..models import RateLimitWindow
from ..redis_clients import client as redis_client

#: Bento's window (seconds) and what the limiter adds to it for the time a request takes to leave.
BENTO_WINDOW = 60.0
MARGIN = 2.0
WINDOW = BENTO_WINDOW + MARGIN
#: Seconds after the first start during which finding the database's row is no sign of loss.
FIRST_START = 5.0


#: The share of the limit that may go at once.
BURST_SHARE = 10


def _pacing(limit: int) -> tuple[int, float]:
    """(grants allowed at once, seconds between grants past them).

    ``burst`` grants at once and then one every ``WINDOW / (limit - burst)`` seconds make
    at most ``limit`` in any window: the pace never runs into the hard limit and stalls.
    """
    burst = max(1, limit // BURST_SHARE)
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
local quiet = redis.call('GET', KEYS[2])
if not quiet then
  return 'lost'
end
if tonumber(quiet) > now then
  return tostring(tonumber(quiet) - now)
end
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

    @property
    def marker(self) -> str:
        """The key whose absence means Redis lost its windows; its value: no grant before it."""
        return f"{self.prefix}:epoch"

    def acquire(self, site_id: int, family: str, now: datetime, limit: int | None = None) -> float:
        limit = limit or app_settings.RATE_LIMIT_PER_MINUTE
        key = f"{self.prefix}:{site_id}:{family}"
        t = now.timestamp()
        burst, spacing = _pacing(limit)
        args: list[str | float] = [
            repr(t),
            WINDOW,
            limit,
            f"{t!r}:{uuid.uuid4().hex}",
            burst,
            repr(spacing),
        ]
        answer = self.script(keys=[key, self.marker], args=args)
        if answer in (b"lost", "lost"):
            self._recover(t)
            answer = self.script(keys=[key, self.marker], args=args)
        wait = float(answer)
        return 0.0 if wait <= 0 else max(0.001, wait)

    def _recover(self, t: float) -> None:
        """Put the marker back: quiet for one window if Redis held windows before, else not.

        Whether it did is remembered in the database (a row of the window table keyed by
        the marker), which outlives Redis. The first process to get here decides; the
        others find the marker set (``SET NX``).
        """
        with transaction.atomic():
            row, created = RateLimitWindow.objects.get_or_create(
                key=self.marker[:100], defaults={"grants": [t]}
            )
        # A row made a moment ago is another process's (or thread's) first start, whose
        # marker may not be set yet: that is no loss, and waits for nothing either.
        first_start = created or (bool(row.grants) and t - float(row.grants[0]) < FIRST_START)
        quiet_until = 0.0 if first_start else t + WINDOW
        self.client.set(self.marker, repr(quiet_until), nx=True)

    def reset(self) -> None:
        """Forget every window and the marker (tests and benchmarks): the next use is a first start."""
        for key in self.client.scan_iter(f"{self.prefix}:*"):
            self.client.delete(key)
        RateLimitWindow.objects.filter(key=self.marker[:100]).delete()


def get_limiter() -> DatabaseRateLimiter | RedisRateLimiter:
    """Redis when ``BENTO_STRIPE['REDIS_URL']`` is set, else the database."""
    url = app_settings.REDIS_URL
    return RedisRateLimiter(url) if url else DatabaseRateLimiter()
