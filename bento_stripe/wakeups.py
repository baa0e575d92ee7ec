"""Wake-ups shared by every process: at most one per interval across web and worker processes.

A commit that leaves work for a worker (a recorded Stripe event, new outbox rows) asks
for a wake-up; queueing a task per commit would flood the broker in a burst. The
decision whether this commit's wake-up is the interval's first is taken where every
process sees it: an atomic ``SET NX PX`` in Redis when ``BENTO_STRIPE['REDIS_URL']`` is
set (the first caller in an interval wins, on any machine), else a row of the database's
``RateLimitWindow`` table updated with a compare-and-set (one indexed UPDATE).

Each process also remembers a recent wake-up for the rest of its interval and asks the
shared marker only past that, so the marker costs at most a few calls a second per
process, not one per commit.

A skipped wake-up loses nothing: the worker woken at most one interval earlier keeps
looking for new work for longer than the interval (its linger) after its last find, so
it sees what was committed since; the every-minute sweeps catch anything else.

A task that is looking keeps the marker set while it keeps up (``Watch``): on a steady
stream one task serves every commit, and commits meanwhile queue no task that would
only split the stream into smaller batches (each with the fixed cost of a batch) and hold
more worker slots. Before each renewal the task commits itself to keep looking past
the moment a commit could last have been skipped because of it
(``Watch.renew``), so a held marker never hides a commit from everyone. A task that
falls behind (full batches) stops renewing, the marker lapses within an interval, and
the next commit wakes another task to help.
"""

from __future__ import annotations

import threading
import time

from django.db import DatabaseError, IntegrityError, transaction

from .conf import app_settings
from .redis_clients import client as redis_client

PREFIX = "bento_stripe:wake"


#: Per process, per name: until when (monotonic) a wake-up is known to be recent, so the
#: shared marker is not asked on every commit. Only ever skips asking: after this process
#: won the marker (its task is queued) for the interval, after losing it for half of it
#: (another process's task was queued less than an interval before; the linger check
#: E032 keeps lingers longer than 1.5 intervals, so that task is still looking).
_known_until: dict[str, float] = {}
_lock = threading.Lock()


def first_in_interval(name: str, interval: float) -> bool:
    """Whether this call is the first for ``name`` within ``interval`` seconds, across processes."""
    if interval <= 0:
        return True
    now = time.monotonic()
    with _lock:
        if _known_until.get(name, 0.0) > now:
            return False
    won = _ask_shared(name, interval)
    with _lock:
        _known_until[name] = now + (interval if won else interval / 2)
    return won


#: Seconds added to a watch's promise for the time between a task's decision and the
#: moment the marker is written (a network round trip, a poll in between).
MARGIN = 0.15


class Watch:
    """A looking task's hold on the wake-up marker of ``name`` (module docstring).

    ``renew(until)``: the task will keep looking (claiming) at least until ``until``
    (monotonic seconds); the marker is set again, at most every half interval, only if
    that covers the last moment a commit could be skipped because of it: the marker
    lives one interval, and a process that saw it skips asking for half an interval
    more (``first_in_interval``). ``promised_until`` is that moment, for a task that
    stops early (its budget): it looks once more after it.
    """

    def __init__(self, name: str, interval: float) -> None:
        self.name = name
        self.interval = interval
        self.promised_until = 0.0
        self._next = 0.0

    def renew(self, until: float) -> bool:
        """Hold the marker if looking until ``until`` covers it; returns whether it was set."""
        if self.interval <= 0:
            return False
        now = time.monotonic()
        promise = now + 1.5 * self.interval + MARGIN
        if now < self._next or promise > until:
            return False
        self._next = now + self.interval / 2
        self.promised_until = promise
        _hold_shared(self.name, self.interval)
        return True

    def settle(self, last_work: float) -> None:
        """Before a last look on stopping early (its budget): wait past the last moment a
        commit may have skipped its wake-up because of this task, either through the held
        marker or because its work at ``last_work`` (monotonic) took the rows that woke
        another task, which then found nothing and ended at once."""
        if self.interval <= 0:
            return
        pause = max(self.promised_until, last_work + 1.5 * self.interval + MARGIN)
        pause -= time.monotonic()
        if pause > 0:
            time.sleep(pause)


def forget() -> None:
    """Drop what this process knows of recent wake-ups (tests)."""
    with _lock:
        _known_until.clear()


def _ask_shared(name: str, interval: float) -> bool:
    url = app_settings.REDIS_URL
    if url:
        try:
            return bool(
                redis_client(url).set(
                    f"{PREFIX}:{name}", b"1", nx=True, px=max(1, int(interval * 1000))
                )
            )
        except Exception:  # noqa: BLE001 - Redis away: wake (a spare task costs little)
            return True
    return _first_in_database(name, interval)


def _hold_shared(name: str, interval: float) -> None:
    """Set the marker of ``name`` now, whether or not it is set (a watch's renewal)."""
    url = app_settings.REDIS_URL
    if url:
        try:
            redis_client(url).set(f"{PREFIX}:{name}", b"1", px=max(1, int(interval * 1000)))
        except Exception:  # noqa: BLE001, S110 - Redis away: commits wake tasks (spare ones)
            pass
        return
    from .models import RateLimitWindow

    key, stamp = f"wake:{name}", int(time.time() * 1000)
    try:
        with transaction.atomic():
            if not RateLimitWindow.objects.filter(key=key).update(version=stamp):
                with transaction.atomic():
                    RateLimitWindow.objects.create(key=key, version=stamp)
    except DatabaseError:  # a locked SQLite database, a concurrent create: a spare wake-up
        pass


def _first_in_database(name: str, interval: float) -> bool:
    from .models import RateLimitWindow

    key = f"wake:{name}"
    now = time.time()
    try:
        with transaction.atomic():
            # The row's version holds the time of the last wake-up, in milliseconds.
            stamp = int(now * 1000)
            if RateLimitWindow.objects.filter(
                key=key, version__lte=stamp - int(interval * 1000)
            ).update(version=stamp):
                return True
            if RateLimitWindow.objects.filter(key=key).exists():
                return False
            try:
                with transaction.atomic():
                    RateLimitWindow.objects.create(key=key, version=stamp)
            except IntegrityError:
                return False
            return True
    except DatabaseError:  # a locked SQLite database: wake rather than wait
        return True
