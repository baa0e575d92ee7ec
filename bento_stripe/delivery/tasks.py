"""django-q2 tasks of delivery: the delivery loop, one site's drain, and the sweep (names in ``queue``)."""

from __future__ import annotations

from .. import queue
from . import loop
from .worker import drain_site, sites_due


def deliver() -> dict:
    """Task: one delivery loop serving every ready site (``delivery.loop``); when its budget
    ran out with rows due, a fresh loop is woken."""
    result = loop.run(once=queue.is_sync())
    if result.more:
        queue.wake_delivery(force=True)
    return result.as_dict()


def drain(site_id: int) -> dict:
    """Task: drain one site now without waiting in the worker (an admin retry, an older
    queued task); rows that must wait, or are still due, are left to a delivery loop."""
    result = drain_site(site_id, wait_inline=queue.is_sync())
    if result.more or result.next_due or result.busy:
        queue.wake_delivery(force=True)
    return result.as_dict()


def sweep() -> int:
    """Task (scheduled every minute): wake a delivery loop when any site has due rows."""
    ids = sites_due()
    if ids:
        queue.wake_delivery(force=True)
    return len(ids)
