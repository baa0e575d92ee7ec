"""The one backoff rule for every retry the app schedules: exponential with full jitter.

Used by the delivery worker (Bento), failed event processing, the backfill's Stripe list
calls and the Stripe deauthorization task. ``retry_after`` (a server's ``Retry-After``) and
``minimum`` (a caller's own floor) are floors: the delay is never shorter, and never
longer than the cap.
"""

from __future__ import annotations

import random
from typing import Protocol


class Rng(Protocol):
    """The ``random`` module or a ``random.Random`` (tests pass a seeded or a fixed one)."""

    def uniform(self, a: float, b: float, /) -> float: ...


def full_jitter(
    attempt: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    minimum: float = 0.0,
    rng: Rng = random,
) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): a uniform draw from 0 to
    ``min(cap, base * 2 ** (attempt - 1))``, at least ``retry_after`` and ``minimum``
    (within the cap)."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    delay = rng.uniform(0, ceiling)
    floor = max(minimum, float(retry_after) if retry_after is not None else 0.0)
    return max(delay, min(floor, cap))
