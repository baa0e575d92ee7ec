"""django-q2 tasks of delivery: drain a site, and sweep up sites with due rows (names in ``queue``)."""

from __future__ import annotations

from .. import queue
from .worker import drain_site, sites_due


def drain(site_id: int) -> dict:
    """Task: drain one site; queue a follow-up when the time budget ran out with rows due."""
    result = drain_site(site_id)
    if result.more:
        queue.drain_sites([site_id])
    return result.as_dict()


def sweep() -> int:
    """Task (scheduled every minute): queue a drain for every site with due rows."""
    ids = sites_due()
    queue.drain_sites(ids)
    return len(ids)
