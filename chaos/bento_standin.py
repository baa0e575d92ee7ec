"""The Bento stand-in of the chaos run: ``tests/bento_server.BentoServer`` plus Bento's limit.

On top of the test stand-in's checks (Basic auth of a known site, ``site_uuid``, the
User-Agent, body shapes, 1 to 1,000 items) it enforces Bento's 100 requests a minute per
site and endpoint family (``batch``, ``fetch``): a request over it is answered 429 and
counted as a breach. Faults are scripted with ``fail()`` (the next N requests).
"""

from __future__ import annotations

import time
from collections import defaultdict, deque

from tests.bento_server import BentoServer

LIMIT_PER_MINUTE = 100


class ChaosBento(BentoServer):
    def __init__(self, sites: dict[str, tuple[str, str]]) -> None:
        super().__init__(sites)
        self.windows: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        #: Requests answered 429 because the client went over Bento's limit.
        self.breaches = 0

    def _answer(self, handler, endpoint, site_uuid, raw, user_agent):
        status, payload, headers, body = super()._answer(
            handler, endpoint, site_uuid, raw, user_agent
        )
        if site_uuid in self.sites:
            family = endpoint.split("/", 1)[0]
            now = time.time()
            with self.lock:
                window = self.windows[(site_uuid, family)]
                while window and window[0] <= now - 60:
                    window.popleft()
                window.append(now)  # Bento counts every request, answered or not
                over = len(window) > LIMIT_PER_MINUTE
                if over:
                    self.breaches += 1
            if over:
                return 429, {"error": "Rate limit exceeded"}, {"Retry-After": "60"}, body
        return status, payload, headers, body
