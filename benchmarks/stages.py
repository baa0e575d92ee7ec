"""Where each second of an event goes: its stages, read back from the run's database.

For every event the load generator posted (its POST time) and the Bento stand-in received
(the arrival of the first accepted request carrying it), the database of the run tells:

* ``received``: the event record's ``received_at`` (the webhook's INSERT);
* ``applied``: its ``processed_at`` (the unit of work committed; this includes waiting
  for a processing worker to claim it: claims leave no time behind);
* ``queued``: the ``created_at`` of its outbox row (written in the same transaction);
* ``sent``: the arrival at the Bento stand-in.

``stage_breakdown`` returns p50 and p99 of each step (POST → received, received →
applied, applied → queued, queued → sent) and of the whole, in seconds; and the units of
work processing applied them in (events of one connection with the same ``processed_at``:
one unit stamps its events with one time), whose fixed cost is most of processing's.
"""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime

from .load import percentile

STEPS = (
    ("post_to_received", "post", "received"),
    ("received_to_applied", "received", "applied"),
    ("applied_to_queued", "applied", "queued"),
    ("queued_to_sent", "queued", "sent"),
    ("post_to_sent", "post", "sent"),
)

_SQL = """
SELECT r.stripe_event_id, r.received_at, r.processed_at, MIN(o.created_at), r.stripe_account_id
FROM bento_stripe_stripeeventrecord r
LEFT JOIN bento_stripe_outboxevent o
  ON o.stripe_event_id = r.stripe_event_id AND o.kind = 'event'
WHERE r.stripe_event_id LIKE {mark}
GROUP BY r.stripe_event_id, r.received_at, r.processed_at, r.stripe_account_id
"""


def _epoch(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite keeps UTC text
        value = datetime.fromisoformat(value.replace(" ", "T"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _rows(db_url: str, prefix: str) -> list[tuple]:
    if db_url.startswith("sqlite"):
        path = db_url.removeprefix("sqlite:///")
        with contextlib.closing(sqlite3.connect(path)) as conn:
            return conn.execute(_SQL.format(mark="?"), (f"{prefix}%",)).fetchall()
    import psycopg

    with psycopg.connect(db_url) as conn:
        return conn.execute(_SQL.format(mark="%s"), (f"{prefix}%",)).fetchall()


def stage_breakdown(
    db_url: str, prefix: str, posted: dict[str, float], arrived: dict[str, float]
) -> dict:
    """p50/p99 seconds of each step for the events whose ids start with ``prefix``."""
    times: dict[str, dict[str, float]] = {}
    units: dict[tuple[str, float], int] = {}
    for event_id, received, applied, queued, account in _rows(db_url, prefix):
        if event_id not in posted:
            continue
        if applied is not None:
            key = (account, _epoch(applied) or 0.0)
            units[key] = units.get(key, 0) + 1
        times[event_id] = {
            k: v
            for k, v in {
                "post": posted[event_id],
                "received": _epoch(received),
                "applied": _epoch(applied),
                "queued": _epoch(queued),
                "sent": arrived.get(event_id),
            }.items()
            if v is not None
        }
    out: dict = {"events": len(times), "units": unit_sizes(list(units.values()))}
    for name, start, end in STEPS:
        spans = [t[end] - t[start] for t in times.values() if start in t and end in t]
        out[name] = {
            "p50_s": percentile(spans, 50),
            "p99_s": percentile(spans, 99),
            "n": len(spans),
        }
    return out


def unit_sizes(sizes: list[int]) -> dict:
    """How many units, their mean size, and the size of the unit the median event was in."""
    if not sizes:
        return {"n": 0}
    by_event = sorted(size for size in sizes for _ in range(size))
    return {
        "n": len(sizes),
        "mean_events": sum(sizes) / len(sizes),
        "event_p50_unit": by_event[len(by_event) // 2],
    }


def render(breakdown: dict) -> str:
    """One line per step: ``name  p50 ms  p99 ms``, then the units of work."""
    lines = []
    for name, _, _ in STEPS:
        step = breakdown.get(name) or {}
        if step.get("n"):
            lines.append(
                f"    {name:<22} p50 {step['p50_s'] * 1000:8.0f} ms   "
                f"p99 {step['p99_s'] * 1000:8.0f} ms"
            )
    units = breakdown.get("units") or {}
    if units.get("n"):
        lines.append(
            f"    processing units       {units['n']:,}, {units['mean_events']:.1f} events each, "
            f"an event's unit p50 {units['event_p50_unit']}"
        )
    return "\n".join(lines)
