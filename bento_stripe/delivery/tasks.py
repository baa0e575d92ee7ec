"""django-q2 tasks of delivery: drain a site, and sweep up sites with due rows (names in ``queue``)."""

from __future__ import annotations

from collections.abc import Iterable

from .. import queue
from .worker import drain_site, sites_due


def enqueue_drain(site_id: int) -> None:
    """Queue a drain of one site (safe to call often: a busy site turns extra drains away)."""
    queue.drain_sites([site_id])


def enqueue_drains_on_commit(site_ids: Iterable[int]) -> None:
    """Queue drains of ``site_ids`` once the current transaction commits (now, outside one)."""
    queue.drain_sites_on_commit(site_ids)


def drain(site_id: int) -> dict:
    """Task: drain one site; queue a follow-up when the time budget ran out with rows due."""
    result = drain_site(site_id)
    if result.more:
        enqueue_drain(site_id)
    return result.as_dict()


def sweep() -> int:
    """Task (scheduled every minute): queue a drain for every site with due rows."""
    ids = sites_due()
    queue.drain_sites(ids)
    return len(ids)
