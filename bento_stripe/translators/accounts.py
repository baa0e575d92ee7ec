"""Connected-account events: a deauthorization stops the connection; nothing goes to Bento."""

from __future__ import annotations

from .. import services
from .base import BentoEvent, TranslationContext
from .registry import builtin


@builtin("account.application.deauthorized", "apps.install.deleted")
def deauthorized(ctx: TranslationContext) -> list[BentoEvent]:
    """The account owner removed the app at Stripe (a Connect deauthorization, or a Stripe App
    uninstalled: ``apps.install.deleted`` on API versions from 2026-09-30): mark the
    connection deauthorized and wipe its tokens."""
    services.mark_deauthorized(ctx.account)
    return []
