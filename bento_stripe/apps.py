"""App configuration."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_schedules(sender, **kwargs) -> None:
    """After ``migrate``: the app's django-q2 schedules exist, once each."""
    from .queue import ensure_schedules

    ensure_schedules()


class BentoStripeConfig(AppConfig):
    """Registers system checks and the schedule maker; nothing else happens at start-up."""

    name = "bento_stripe"
    verbose_name = _("Bento ⇄ Stripe")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the checks)
        from .processing import product_checks  # noqa: F401  (registers the catalogue's)

        post_migrate.connect(_ensure_schedules, sender=self, dispatch_uid="bento_stripe.schedules")
