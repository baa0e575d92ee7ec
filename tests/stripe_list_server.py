"""A real local HTTP server standing in for Stripe's list endpoints (the backfill's Stripe).

``GET /v1/<resource>`` pages like Stripe (``limit`` up to 100, ``starting_after``,
``has_more``, newest first), lists canceled subscriptions only with ``status=all``,
expands a subscription's ``discounts`` only when asked (``expand[]=data.discounts``),
filters ``created[gte]``, serves ``/v1/coupons/<id>`` and ``/v1/events``, and answers
scripted faults (429 ``rate_limit`` with or without ``Stripe-Should-Retry``, 5xx) before
the next requests. It records every request and the seconds it spent answering, so a
benchmark can leave its own time out.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

from .stripe_history import COUPONS, History

LISTS = ("products", "prices", "customers", "charges", "disputes", "subscriptions", "invoices")


@dataclass
class Fault:
    """An answer given instead of the next list page."""

    status: int = 429
    headers: dict[str, str] = field(default_factory=dict)
    code: str = "rate_limit"


class StripeLists:
    """What the stand-in serves: a :class:`History`, objects changed on top, and faults."""

    def __init__(self, history: History) -> None:
        self.history = history
        #: id → object replacing the history's (a change at Stripe after the history).
        self.changed: dict[str, dict] = {}
        #: ids added on top of a list (newest first), by resource.
        self.added: dict[str, list[str]] = {r: [] for r in LISTS}
        #: Events served by ``/v1/events`` (newest first).
        self.events: list[dict] = []
        self.faults: deque[Fault] = deque()
        #: Called with the request's path before each list page is answered.
        self.before_page = None
        self.requests: list[dict] = []
        #: Keep each request (tests); the benchmark's server only counts them.
        self.record = True
        self.served = 0
        self.busy = 0.0
        self.lock = threading.Lock()
        self.url = ""
        self._ids: dict[str, list[str]] = {}
        self._index: dict[str, dict[str, int]] = {}

    def ids(self, resource: str) -> list[str]:
        if resource not in self._ids:
            self._ids[resource] = self.history.listing(resource)
            self._index[resource] = {k: n for n, k in enumerate(self._ids[resource])}
        return self.added[resource] + self._ids[resource]

    def get(self, object_id: str, *, expand: bool = False) -> dict:
        if object_id in self.changed:
            obj = json.loads(json.dumps(self.changed[object_id]))
            if obj.get("object") == "subscription" and not expand:
                obj["discounts"] = [d["id"] if isinstance(d, dict) else d for d in obj["discounts"]]
            return obj
        return self.history.get(object_id, expand=expand)

    def page(self, resource: str, query: list[tuple[str, str]]) -> tuple[int, dict]:
        params = dict(query)
        expand = [v for k, v in query if k.startswith("expand[")]
        limit = min(int(params.get("limit", 10)), 100)
        ids = self.ids(resource)
        start = 0
        after = params.get("starting_after")
        if after:
            added = self.added[resource]
            if after in added:
                start = added.index(after) + 1
            elif after in self._index[resource]:
                start = len(added) + self._index[resource][after] + 1
            else:
                return 400, _error("invalid_request_error", f"No such object: '{after}'")
        gte = int(params.get("created[gte]", 0))
        wide = resource != "subscriptions" or params.get("status") == "all"
        found: list[dict] = []
        n = start
        while n < len(ids) and len(found) <= limit:
            obj = self.get(ids[n], expand="data.discounts" in expand)
            n += 1
            if obj.get("created", 0) < gte or (not wide and obj.get("status") == "canceled"):
                continue
            found.append(obj)
        return 200, {
            "object": "list",
            "url": f"/v1/{resource}",
            "data": found[:limit],
            "has_more": len(found) > limit,
        }

    def event_page(self, query: list[tuple[str, str]]) -> dict:
        params = dict(query)
        gte = int(params.get("created[gte]", 0))
        events = [e for e in self.events if e["created"] >= gte]
        after = params.get("starting_after")
        if after:
            events = events[[e["id"] for e in events].index(after) + 1 :]
        limit = min(int(params.get("limit", 10)), 100)
        return {"object": "list", "data": events[:limit], "has_more": len(events) > limit}

    def list_requests(self, resource: str) -> list[dict]:
        return [r for r in self.requests if r["resource"] == resource]


def _error(kind: str, message: str, code: str = "") -> dict:
    return {"error": {"type": kind, "message": message, **({"code": code} if code else {})}}


def _handler(lists: StripeLists):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            return

        def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", "req_listsstandin")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            began = time.perf_counter()
            try:
                self._get()
            finally:
                with lists.lock:
                    lists.busy += time.perf_counter() - began

        def _get(self):
            url = urlsplit(self.path)
            query = parse_qsl(url.query)
            parts = url.path.strip("/").split("/")
            resource = parts[1] if len(parts) > 1 else ""
            with lists.lock:
                lists.served += 1
                if lists.record:
                    lists.requests.append(
                        {
                            "resource": resource,
                            "path": url.path,
                            "query": query,
                            "account": self.headers.get("Stripe-Account", ""),
                            "authorization": self.headers.get("Authorization", ""),
                        }
                    )
            if url.path == "/_busy":  # the benchmark's question: seconds spent answering
                with lists.lock:
                    busy = lists.busy
                return self._send(200, {"busy": busy, "requests": lists.served})
            if parts[:2] == ["v1", "coupons"] and len(parts) == 3:
                coupon = COUPONS.get(parts[2])
                if coupon is None:
                    return self._send(404, _error("invalid_request_error", "No such coupon"))
                return self._send(200, coupon)
            if len(parts) != 2 or parts[0] != "v1" or resource not in (*LISTS, "events"):
                return self._send(404, _error("invalid_request_error", "Unrecognized request URL"))
            if lists.before_page is not None:
                lists.before_page(resource)
            if lists.faults:
                fault = lists.faults.popleft()
                kind = "rate_limit_error" if fault.status == 429 else "api_error"
                return self._send(
                    fault.status,
                    _error(
                        kind, "Too many requests" if fault.status == 429 else "Oops", fault.code
                    ),
                    fault.headers,
                )
            if resource == "events":
                return self._send(200, lists.event_page(query))
            status, body = lists.page(resource, query)
            return self._send(status, body)

    return Handler


def serve(lists: StripeLists) -> ThreadingHTTPServer:
    """Start the stand-in on a free port of 127.0.0.1 (``lists.url`` is its base)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(lists))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    lists.url = f"http://127.0.0.1:{server.server_address[1]}"
    return server


@pytest.fixture
def stripe_lists(settings):
    """A factory: ``stripe_lists(history)`` starts a stand-in serving it, with
    ``STRIPE_API_BASE`` pointed at it and the backfill on."""
    servers: list[ThreadingHTTPServer] = []

    def start(history: History) -> StripeLists:
        lists = StripeLists(history)
        servers.append(serve(lists))
        settings.BENTO_STRIPE = {
            **settings.BENTO_STRIPE,
            "STRIPE_API_BASE": lists.url,
            "BACKFILL_ON_CONNECT": True,
        }
        return lists

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def pipeline(server, settings, monkeypatch):
    """Backfill tests: tasks run in-process; Bento is the HTTP stand-in (``server``)."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    settings.BENTO_STRIPE = {
        **settings.BENTO_STRIPE,
        "BACKEND": "http",
        "API_URL": server.url,
        "RETRY_BASE_DELAY": 0.05,
    }


@pytest.fixture
def site(server):
    """A site the Bento stand-in knows (module fixtures of the same name take precedence)."""
    from .factories import SiteFactory

    site = SiteFactory()
    server.add_site(site)
    return site


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run what is queued on commit (the tests' transaction never commits)."""

    def run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return run


def main() -> None:
    """``python -m tests.stripe_list_server --account acct_... --customers N --charges M``:
    serve a generated history from its own process (the benchmark's Stripe); prints its URL."""
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--account", required=True)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--charges", type=int, default=10000)
    args = parser.parse_args()
    lists = StripeLists(History(args.account, customers=args.customers, charges=args.charges))
    lists.record = False
    server = serve(lists)
    print(json.dumps({"url": lists.url}), flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin (or kills us)
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
