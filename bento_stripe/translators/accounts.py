"""Connected-account events: a deauthorization stops the connection; nothing goes to Bento."""

from __future__ import annotations

from .. import services
from .base import BentoEvent, TranslationContext
from .registry import builtin


@builtin("account.application.deauthorized")
def deauthorized(ctx: TranslationContext) -> list[BentoEvent]:
    """The account owner removed the app at Stripe: mark the connection deauthorized."""
    services.mark_deauthorized(ctx.account)
    return []
