"""A Stripe API that is nowhere: it refuses every call at once (404) and counts them.

The benchmark points ``STRIPE_API_BASE`` (and stripe-python's ``api_base`` in
``benchmarks.settings``) here, so nothing reaches Stripe and any call a webhook makes
shows up in the numbers. (Bento's stand-in is ``tests/bento_server.py``.)
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: Object ids in paths, folded so calls group by kind (``/v1/accounts/{id}``).
ID = re.compile(r"/(acct|cus|ch|evt|in|sub|pi|re|price|prod)_[A-Za-z0-9_]+")


class StripeNowhere:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.httpd: ThreadingHTTPServer | None = None

    def start(self) -> StripeNowhere:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                path = ID.sub(lambda m: f"/{m.group(1)}_{{id}}", self.path.split("?")[0])
                with stand_in.lock:
                    stand_in.calls[f"{self.command} {path}"] += 1
                body = json.dumps(
                    {"error": {"type": "invalid_request_error", "message": "benchmark: no Stripe"}}
                ).encode()
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = answer  # noqa: N815 - http.server's naming

            def log_message(self, format, *args):  # noqa: A002 - quiet
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self.httpd is not None  # noqa: S101 - started first
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def take(self) -> dict[str, int]:
        """The calls counted since the last ``take()``."""
        with self.lock:
            calls, self.calls = dict(self.calls), Counter()
        return calls

    def stop(self) -> None:
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
