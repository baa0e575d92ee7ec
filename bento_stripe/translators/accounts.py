"""Connected-account events: a deauthorization sends nothing to Bento.

Ending the connection is a processing step (``processing/disconnect.py``), not a translator's
side effect: translators only translate.
"""

from __future__ import annotations

from .base import BentoEvent, TranslationContext
from .registry import builtin


@builtin("account.application.deauthorized", "apps.install.deleted")
def deauthorized(ctx: TranslationContext) -> list[BentoEvent]:
    """The account owner removed the app at Stripe (a Connect deauthorization, or a Stripe App
    uninstalled: ``apps.install.deleted`` on API versions from 2026-09-30). Nothing goes to
    Bento; processing then marks the connection deauthorized and wipes its tokens."""
    return []
