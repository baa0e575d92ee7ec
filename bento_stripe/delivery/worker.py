"""Drain one site's outbox: claim a batch under a lease, rate limit, send, record the outcome.

A site is drained by one worker at a time (``locks``), oldest row first, so each person's
rows leave in creation order; a row waiting for a retry holds back the rows behind it.
Rows are marked ``sending`` with a lease before the request: a worker killed mid-send
leaves them to be sent again once the lease lapses (at least once; ``unique.key`` makes
a resend harmless).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ..backoff import Rng, full_jitter
from ..bento import get_backend
from ..bento.backends.base import BaseBackend
from ..bento.client import family_of
from ..conf import app_settings
from ..exceptions import BentoError, BentoRejectedError
from ..logs import get_logger
from ..models import OutboxEvent, SiteModel, get_site_model
from . import locks
from .clock import Clock, SystemClock
from .payloads import ENDPOINT_OF_KIND, body_of
from .ratelimit import DatabaseRateLimiter, RedisRateLimiter, get_limiter

logger = get_logger("bento_stripe.delivery")

S = OutboxEvent.Status

#: Bento answers these when an item is malformed: the batch is split to isolate it.
SPLIT_STATUSES = (400, 422)

#: Seconds one drain may run before handing the site to a fresh task (django-q2's timeout is 60).
DEFAULT_BUDGET = 40.0


@dataclass
class DrainResult:
    """What one drain of a site did, and when the site is due again."""

    site_id: int
    requests: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    retried: int = 0
    #: Another worker held the site: nothing was done.
    busy: bool = False
    #: The time budget ran out with rows due now: drain again straight away.
    more: bool = False
    #: Earliest time a waiting row (backoff, rate limit, lease) becomes due.
    next_due: datetime | None = None
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-safe summary (stored as the django-q2 task result)."""
        data = self.__dict__.copy()
        data["next_due"] = self.next_due.isoformat() if self.next_due else None
        return data


def due_filter(now: datetime) -> Q:
    """Rows ready to go now: pending and due, or sending under a lapsed lease."""
    return Q(status=S.PENDING, next_attempt_at__lte=now) | Q(
        status=S.SENDING, lease_expires_at__lte=now
    )


def retry_delay(attempts: int, retry_after: float | None, rng: Rng = random) -> float:
    """Seconds before a batch is sent again (``RETRY_BASE_DELAY``, ``RETRY_MAX_DELAY``),
    never sooner than Bento's ``Retry-After``."""
    return full_jitter(
        attempts,
        base=app_settings.RETRY_BASE_DELAY,
        cap=app_settings.RETRY_MAX_DELAY,
        retry_after=retry_after,
        rng=rng,
    )


class Drainer:
    """Sends a site's due rows in batches until none is due, the budget runs out, or it must wait."""

    def __init__(
        self,
        site_id: int,
        *,
        clock: Clock | None = None,
        backend: BaseBackend | None = None,
        limiter: DatabaseRateLimiter | RedisRateLimiter | None = None,
        budget: float | None = None,
        rng: Rng | None = None,
        wait_inline: bool = True,
        max_batches: int | None = None,
        site: SiteModel | None = None,
    ) -> None:
        self.site_id = site_id
        #: The site's row, when the caller read it already (the loop reads a pass's sites at once).
        self.site = site
        self.clock = clock or SystemClock()
        self.backend = backend or get_backend()
        self.limiter = limiter or get_limiter()
        self.budget = DEFAULT_BUDGET if budget is None else budget
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.owner = uuid.uuid4().hex
        self.result = DrainResult(site_id)
        #: Smaller batches after Bento refused one for its content, to find the bad row.
        self.size_limit: int | None = None
        #: Sleep through a short wait (rate limit, backoff) holding the worker; False (the
        #: delivery loop, the drain task): never sleep, report ``next_due`` and return.
        self.wait_inline = wait_inline
        #: Requests one call may send (the delivery loop sends one per site per visit).
        self.max_batches = max_batches

    # -- public ---------------------------------------------------------------------------
    def run(self) -> DrainResult:
        started = self.clock.now()
        while True:
            now = self.clock.now()
            lease = timedelta(seconds=app_settings.LEASE_SECONDS)
            if not locks.acquire(self.site_id, self.owner, now, now + lease):
                self.result.busy = True
                return self.result
            try:
                self._drain(started)
            finally:
                locks.release(self.site_id, self.owner)
            # Rows committed while we held the lock had their own drain turned away: look again.
            if (
                not self.wait_inline
                or self.result.more
                or self.result.next_due
                or not self._has_due()
            ):
                return self.result

    # -- steps ----------------------------------------------------------------------------
    def _has_due(self) -> bool:
        return OutboxEvent.objects.filter(
            due_filter(self.clock.now()), site_id=self.site_id
        ).exists()

    def _drain(self, started: datetime) -> None:
        site = self.site or get_site_model().objects.get(pk=self.site_id)
        self.result.next_due = None
        while True:
            now = self.clock.now()
            remaining = self.budget - (now - started).total_seconds()
            if remaining <= 0:
                self.result.more = self._has_due()
                return
            if self.max_batches is not None and self.result.requests >= self.max_batches:
                # Its share sent: rows may still be due (the caller looks again anyway).
                self.result.more = True
                return
            rows, wait_until = self._next_batch(now)
            if not rows and wait_until is None:
                return
            if rows:
                endpoint = ENDPOINT_OF_KIND[rows[0].kind]
                # The grant is taken at the time of asking, not the loop's ``now``: a grant
                # dated earlier than its request would leave the window too soon.
                wait = self.limiter.acquire(self.site_id, family_of(endpoint), self.clock.now())
                if wait <= 0:
                    self._send(site, rows, now)
                    if self.result.busy:
                        return  # another sender has the site's rows: leave them to it
                    continue
                wait_until = now + timedelta(seconds=wait)
            # Something must wait: sleep here when it is short, else leave it to a later drain.
            assert wait_until is not None  # noqa: S101 - for mypy: every branch above set it
            wait_seconds = (wait_until - now).total_seconds()
            if self.wait_inline and wait_seconds <= remaining:
                lease = timedelta(seconds=app_settings.LEASE_SECONDS)
                self.clock.sleep(wait_seconds)
                renewed = self.clock.now()
                if not locks.acquire(self.site_id, self.owner, renewed, renewed + lease):
                    return
                continue
            self.result.next_due = wait_until
            return

    def _size(self) -> int:
        return min(app_settings.BATCH_SIZE, self.size_limit or app_settings.BATCH_SIZE)

    def _next_batch(self, now: datetime) -> tuple[list[OutboxEvent], datetime | None]:
        """The longest same-kind run of due rows at the head of the site's queue, or when to look again."""
        size = self._size()
        queue = (
            OutboxEvent.objects.filter(site_id=self.site_id, status__in=[S.PENDING, S.SENDING])
            .order_by("created_at", "pk")
            .only(
                "id",
                "site_id",
                "kind",
                "status",
                "next_attempt_at",
                "lease_expires_at",
            )[:size]
        )
        batch: list[OutboxEvent] = []
        for row in queue:
            due_at = row.next_attempt_at if row.status == S.PENDING else row.lease_expires_at
            due_at = due_at or now
            if due_at > now:
                return (batch, None) if batch else ([], due_at)
            if batch and row.kind != batch[0].kind:
                break
            batch.append(row)
        return batch, None

    def _send(self, site: SiteModel, rows: list[OutboxEvent], now: datetime) -> None:
        ids = [r.pk for r in rows]
        batch_id = uuid.uuid4().hex
        lease_until = now + timedelta(seconds=app_settings.LEASE_SECONDS)
        with transaction.atomic():
            # Claim only rows still due, as they were read: a sender that outlived its site
            # lock (a stalled process) must not send again what another sender delivered
            # meanwhile, nor anything behind it out of order.
            claimed = OutboxEvent.objects.filter(due_filter(now), pk__in=ids).update(
                status=S.SENDING,
                lease_expires_at=lease_until,
                batch_id=batch_id,
                attempts=F("attempts") + 1,
            )
            if claimed != len(ids):
                transaction.set_rollback(True)
                logger.warning(
                    "Site %s: %d of %d rows were taken by another sender; batch left to it",
                    self.site_id,
                    len(ids) - claimed,
                    len(ids),
                    site=self.site_id,
                )
                self.result.busy = True
                return
            rows = list(OutboxEvent.objects.filter(pk__in=ids).order_by("created_at", "pk"))
        endpoint, body = body_of(rows)
        self.result.requests += 1
        try:
            self.backend.send(site, endpoint, body)
        except BentoRejectedError as exc:
            if exc.status in SPLIT_STATUSES and len(ids) > 1:
                # One bad item fails the whole request: send halves until it stands alone.
                self.size_limit = max(1, len(ids) // 2)
                self._finish(
                    ids,
                    status=S.PENDING,
                    attempts=F("attempts") - 1,
                    next_attempt_at=now,
                    last_error=exc.message,
                    lease_expires_at=None,
                )
                self.result.errors.append(exc.message)
                return
            self.size_limit = None  # the bad row stands alone now: back to full batches
            self._finish(ids, status=S.FAILED, last_error=exc.message, lease_expires_at=None)
            self.result.failed += len(ids)
            self.result.errors.append(exc.message)
            return
        except Exception as exc:  # noqa: BLE001 - any other failure is retried, never lost
            if isinstance(exc, BentoError):
                message, retry_after = exc.message, exc.retry_after
            else:
                logger.exception(
                    "Bento backend raised for site %s",
                    self.site_id,
                    site=self.site_id,
                    delivery=batch_id,
                )
                message, retry_after = f"{type(exc).__name__}: {exc}", None
            self._retry_later(rows, message, retry_after)
            self.result.errors.append(message)
            return
        self._finish(
            ids,
            status=S.DELIVERED,
            delivered_at=self.clock.now(),
            last_error="",
            lease_expires_at=None,
        )
        self.result.delivered += len(ids)

    def _finish(self, ids: list[int], **values: Any) -> None:
        # Only rows still carrying our claim: a row replayed meanwhile keeps its new state.
        OutboxEvent.objects.filter(pk__in=ids, status=S.SENDING).update(**values)

    def _retry_later(
        self, rows: list[OutboxEvent], message: str, retry_after: float | None
    ) -> None:
        now = self.clock.now()
        attempts = max(r.attempts for r in rows)
        dead_ids = [r.pk for r in rows if r.attempts >= app_settings.MAX_ATTEMPTS]
        live_ids = [r.pk for r in rows if r.attempts < app_settings.MAX_ATTEMPTS]
        if dead_ids:
            self._finish(
                dead_ids,
                status=S.DEAD,
                last_error=f"{message} (gave up after {attempts} attempts)",
                lease_expires_at=None,
            )
            self.result.dead += len(dead_ids)
        if live_ids:
            delay = retry_delay(attempts, retry_after, self.rng)
            self._finish(
                live_ids,
                status=S.PENDING,
                next_attempt_at=now + timedelta(seconds=delay),
                last_error=message,
                lease_expires_at=None,
            )
            self.result.retried += len(live_ids)


def drain_site(site_id: int, **kwargs: Any) -> DrainResult:
    """Drain one site now (see ``Drainer`` for the keyword arguments)."""
    return Drainer(site_id, **kwargs).run()


def sites_due(now: datetime | None = None) -> list[int]:
    """Sites with at least one row due now."""
    now = now or timezone.now()
    return sorted(
        set(OutboxEvent.objects.filter(due_filter(now)).values_list("site_id", flat=True))
    )
