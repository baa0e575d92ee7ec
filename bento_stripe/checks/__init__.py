"""System checks of bento-stripe; importing this package registers them (``AppConfig.ready``).

Every message names the exact setting to fix. The ids: E001-E008 and W002-W004 the core
settings, E009-E012, W005 and W006 Stripe App installs, E020-E025 the swapped models and the
team policy, E026 the backfill, E035 the product catalogue, E027 the apps the API needs, E028 an unknown key,
E029 a value of the wrong type, E030-E034
and W010 the queues and the delivery loop, E040-E042 and W020 retention, health and metrics.
"""

from .catalogue import check_product_lookups
from .delivery import check_delivery_loop, check_queues
from .models import API_APPS, check_api_apps, check_swapped_models, check_team_policy
from .operations import check_operations_settings
from .settings import (
    check_backend,
    check_backfill_settings,
    check_delivery_settings,
    check_encryption_keys,
    check_processing_settings,
    check_stripe_app_settings,
    check_stripe_settings,
    check_unknown_settings,
    check_webhook_settings,
)
from .types import check_setting_types

__all__ = [
    "API_APPS",
    "check_api_apps",
    "check_backend",
    "check_backfill_settings",
    "check_setting_types",
    "check_delivery_loop",
    "check_delivery_settings",
    "check_encryption_keys",
    "check_operations_settings",
    "check_processing_settings",
    "check_product_lookups",
    "check_queues",
    "check_stripe_app_settings",
    "check_stripe_settings",
    "check_swapped_models",
    "check_team_policy",
    "check_unknown_settings",
    "check_webhook_settings",
]
