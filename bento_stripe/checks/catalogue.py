"""System checks of the product catalogue's settings (registered by ``AppConfig.ready``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks

from ..conf import app_settings


@checks.register()
def check_product_lookups(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E035: ``LOOKUP_PRODUCTS`` is not a boolean."""
    value = app_settings.LOOKUP_PRODUCTS
    if isinstance(value, bool):
        return []
    return [
        checks.Error(
            f"settings.BENTO_STRIPE['LOOKUP_PRODUCTS'] must be True or False, not {value!r}.",
            hint="True looks up products, prices and checkout line items the catalogue does "
            "not know at Stripe (in the processing task); False names them by their ids.",
            id="bento_stripe.E035",
        )
    ]
