"""Delivery coordination shared by every worker process: rate-limit windows and site locks."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..conf import site_model_label


class RateLimitWindow(models.Model):
    """The recent Bento request times of one site and endpoint family (a sliding window)."""

    #: ``<site id>:<family>``, family being ``batch`` or ``fetch``.
    key = models.CharField(_("key"), max_length=100, unique=True)
    #: Epoch seconds of the requests granted in the last minute, oldest first.
    grants = models.JSONField(_("grants"), default=list)
    #: Touched first in every acquire so the row's write lock serialises workers (also on SQLite).
    version = models.PositiveBigIntegerField(_("version"), default=0)

    class Meta:
        verbose_name = _("rate-limit window")
        verbose_name_plural = _("rate-limit windows")

    def __str__(self) -> str:
        return self.key


class DeliveryLock(models.Model):
    """Which worker drains a site now, so a site's rows leave in creation order."""

    site = models.OneToOneField(
        site_model_label(), on_delete=models.CASCADE, related_name="bento_delivery_lock"
    )
    owner = models.CharField(_("owner"), max_length=64, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery lock")
        verbose_name_plural = _("delivery locks")

    def __str__(self) -> str:
        return f"{self.site_id}: {self.owner or 'free'}"
