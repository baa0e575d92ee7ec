"""One worker at a time per site, with an expiry so a killed worker's lock frees itself."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q

from ..models import DeliveryLock


def acquire(site_id: int, owner: str, now: datetime, expires_at: datetime) -> bool:
    """Take (or renew) the site's lock for ``owner`` until ``expires_at``; False if another holds it."""
    free = Q(owner="") | Q(expires_at__isnull=True) | Q(expires_at__lte=now) | Q(owner=owner)
    if DeliveryLock.objects.filter(free, site_id=site_id).update(
        owner=owner, expires_at=expires_at
    ):
        return True
    if DeliveryLock.objects.filter(site_id=site_id).exists():
        return False
    try:
        with transaction.atomic():
            DeliveryLock.objects.create(site_id=site_id, owner=owner, expires_at=expires_at)
        return True
    except IntegrityError:
        return False


def release(site_id: int, owner: str) -> None:
    """Give the lock back, if ``owner`` still holds it."""
    DeliveryLock.objects.filter(site_id=site_id, owner=owner).update(owner="", expires_at=None)
