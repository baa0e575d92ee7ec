"""The real Bento REST API over one pooled ``requests.Session`` per process."""

from __future__ import annotations

import os
import threading
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from ...conf import app_settings
from ...exceptions import BentoRejectedError, BentoRetryableError
from ...logs import get_logger
from ..client import error_message, parse_retry_after, user_agent
from .base import BaseBackend

logger = get_logger("bento_stripe.bento")

_local: dict[str, Any] = {"pid": None, "session": None}
_lock = threading.Lock()


def session() -> requests.Session:
    """This process's pooled session (a forked worker gets its own, never its parent's sockets)."""
    with _lock:
        if _local["session"] is None or _local["pid"] != os.getpid():
            s = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
            s.mount("https://", adapter)
            s.mount("http://", adapter)
            s.headers["User-Agent"] = user_agent()
            s.headers["Accept"] = "application/json"
            _local.update(pid=os.getpid(), session=s)
        return _local["session"]


def _timeout():
    value = app_settings.HTTP_TIMEOUT
    if isinstance(value, list | tuple):
        return (float(value[0]), float(value[1]))
    return float(value)


class HttpBackend(BaseBackend):
    """POSTs to ``{API_URL}/<endpoint>?site_uuid=...`` with Basic auth publishable:secret."""

    def send_batch(self, site, endpoint: str, body: dict) -> dict:
        missing = [
            label
            for label, value in (
                ("site UUID", site.bento_site_uuid),
                ("publishable key", site.bento_publishable_key),
                ("secret key", site.bento_secret_key),
            )
            if not value
        ]
        if missing:
            raise BentoRejectedError(
                f"Site {site.name!r} has no Bento {' or '.join(missing)}: set it in Admin → Sites, "
                "then retry these rows."
            )
        url = f"{app_settings.API_URL.rstrip('/')}/{endpoint}"
        try:
            response = session().post(
                url,
                params={"site_uuid": site.bento_site_uuid},
                json=body,
                auth=(site.bento_publishable_key, site.bento_secret_key),
                timeout=_timeout(),
            )
        except requests.Timeout as exc:
            raise BentoRetryableError(
                f"Bento did not answer POST /{endpoint} in time: {exc}"
            ) from exc
        except requests.ConnectionError as exc:
            raise BentoRetryableError(f"Could not reach Bento for POST /{endpoint}: {exc}") from exc
        status = response.status_code
        if 200 <= status < 300:
            try:
                return response.json() if response.content else {}
            except ValueError:
                return {"raw": response.text[:500]}
        message = error_message(status, response.reason or "", response.content)
        logger.warning("Bento POST /%s for site %s: %s", endpoint, site.pk, message, site=site.pk)
        if status == 429 or status >= 500:
            raise BentoRetryableError(
                message,
                status=status,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        raise BentoRejectedError(message, status=status)
