"""Bento REST details shared by backends: endpoints, User-Agent, Retry-After and error bodies."""

from __future__ import annotations

import email.utils
import json
from datetime import UTC, datetime

from .. import __version__

#: Endpoint path (relative to ``API_URL``) → the body key holding the items.
ENDPOINTS = {
    "batch/events": "events",
    "batch/subscribers": "subscribers",
    "fetch/commands": "command",
}

#: Bento's hard limit of items per request.
MAX_ITEMS = 1000


def family_of(endpoint: str) -> str:
    """The rate-limit family of an endpoint: ``batch`` or ``fetch`` (Bento counts them apart)."""
    return endpoint.strip("/").split("/", 1)[0]


def user_agent() -> str:
    """The User-Agent of every Bento request (Bento's edge blocks generic ones)."""
    return f"bento-stripe/{__version__}"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_message(status: int, reason: str, body: bytes | str, limit: int = 500) -> str:
    """Bento's own words from an error response (JSON ``error``/``errors``/``message``) or text."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    detail = text.strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("error", "errors", "message", "detail"):
            if data.get(key):
                value = data[key]
                if isinstance(value, list | tuple):
                    value = "; ".join(str(v) for v in value)
                elif isinstance(value, dict):
                    value = "; ".join(f"{k}: {v}" for k, v in value.items())
                detail = str(value)
                break
    detail = detail[:limit] or "(empty body)"
    return f"Bento answered {status} {reason}: {detail}".strip()
