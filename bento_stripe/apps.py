"""App configuration."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BentoStripeConfig(AppConfig):
    """Registers system checks; importing receivers happens here and nowhere else."""

    name = "bento_stripe"
    verbose_name = _("Bento ⇄ Stripe")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the checks)
        from .delivery import tasks  # noqa: F401  (connects the delivery receivers)
        from .webhooks import receivers  # noqa: F401  (connects the ledger's receivers)
