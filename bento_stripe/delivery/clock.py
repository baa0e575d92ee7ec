"""Time for the worker, injectable so backoff and rate tests do not sleep for real minutes."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Protocol

from django.utils import timezone


class Clock(Protocol):
    """What the worker needs of a clock."""

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real time: ``timezone.now()`` and ``time.sleep``."""

    def now(self) -> datetime:
        return timezone.now()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ManualClock:
    """A clock that only moves when told to; ``sleep`` moves it instead of waiting."""

    def __init__(self, start: datetime | None = None):
        self._now = start or timezone.now()
        self._lock = threading.Lock()
        #: Every sleep asked for, in seconds (tests assert on backoff from it).
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        with self._lock:
            self._now += timedelta(seconds=max(0.0, seconds))

    def advance_to(self, when: datetime) -> None:
        """Move time forward to ``when`` (never backwards)."""
        with self._lock:
            self._now = max(self._now, when)
