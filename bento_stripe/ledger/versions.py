"""The version of an object read at Stripe's API (a lookup, a backfill page): when it was read.

Ledger rows keep the newest state by ``(created, event id)`` (``VersionedRow.is_newer``).
An object read at the API carries ``(the second it was asked for, "api.<microseconds>")``:
an event of the same second sorts after it (``evt_…`` > ``api…``), so a webhook about a
change made while Stripe answered wins; and of two reads in one second the later wins
(``"api"`` alone made them equal, and a backfill started again within the second that
read the old state kept it).
"""

from __future__ import annotations

import time


def read_version(at: float | None = None) -> tuple[int, str]:
    """The version of an object read at ``at`` (``time.time()``; now when None)."""
    at = time.time() if at is None else at
    seconds = int(at)
    return seconds, f"api.{round((at - seconds) * 1_000_000):06d}"
