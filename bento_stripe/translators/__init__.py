"""Translators: Stripe events → Bento events, one module per Stripe object family."""

from .base import BentoEvent, TranslationContext, bento_type
from .registry import registry, translator

__all__ = ["BentoEvent", "TranslationContext", "bento_type", "registry", "translator"]
