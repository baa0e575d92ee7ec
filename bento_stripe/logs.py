"""One logging adapter: log lines about an event, a delivery or a connection carry context.

Modules log through ``get_logger(__name__)`` and name what a line is about::

    logger.warning("Bento POST failed: %s", message, site=site.pk, delivery=batch_id)

The keywords become ``extra`` attributes of the record, under fixed names
(:data:`FIELDS`), so a JSON formatter (:class:`JsonFormatter`, or any other) writes them
as searchable fields. docs/operations/logging.rst shows a configuration.
"""

from __future__ import annotations

import json
import logging
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any

#: Keyword of a log call → attribute of the record (and field of a JSON line).
FIELDS = {
    "account": "stripe_account",
    "event": "stripe_event_id",
    "site": "site_id",
    "delivery": "delivery_id",
    "team": "team_id",
    "endpoint": "webhook_endpoint",
}


class ContextLogger(logging.LoggerAdapter):
    """A logger whose calls take ``account=``, ``event=``, ``site=``, ``delivery=``,
    ``team=`` and ``endpoint=`` and pass them on as ``extra``."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        extra = {**(self.extra or {}), **(kwargs.get("extra") or {})}
        for keyword, attribute in FIELDS.items():
            if keyword in kwargs:
                value = kwargs.pop(keyword)
                if value not in (None, ""):
                    extra[attribute] = value if isinstance(value, int | float) else str(value)
        kwargs["extra"] = extra
        return msg, kwargs


def get_logger(name: str) -> ContextLogger:
    """The app's logger for a module (``get_logger(__name__)``)."""
    return ContextLogger(logging.getLogger(name), {})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the context fields a line
    has, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for attribute in FIELDS.values():
            value = getattr(record, attribute, None)
            if value is not None:
                line[attribute] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)
