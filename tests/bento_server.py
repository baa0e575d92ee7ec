"""A real local HTTP server standing in for Bento's REST API, with scriptable faults.

It checks Basic auth (publishable:secret of a known site), ``site_uuid``, the User-Agent
prefix ``bento-stripe/`` and the body shape (1 to 1,000 items), records every request
with a timestamp, and keeps what Bento would end up with: events, subscriber fields.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

PREFIX = "/api/v1/"
ENDPOINTS = {
    "batch/events": "events",
    "batch/subscribers": "subscribers",
    "fetch/commands": "command",
}


@dataclass
class Fault:
    """What to do to one request instead of (or before) answering normally."""

    status: int = 503
    retry_after: str | None = None
    body: dict | str | None = None
    #: Seconds to wait before answering (a client with a shorter read timeout gives up).
    delay: float = 0.0
    #: Whether a delayed request is still processed (Bento got it) or dropped.
    process: bool = False


@dataclass
class Request:
    """One request as the stand-in saw it."""

    at: float
    endpoint: str
    site_uuid: str
    status: int
    items: int
    body: dict | None = None
    user_agent: str = ""


@dataclass
class BentoState:
    """What Bento holds after the requests it accepted."""

    events: list = field(default_factory=list)
    subscribers: dict = field(default_factory=dict)
    commands: list = field(default_factory=list)


class BentoServer:
    """Start with ``start()``; ``url`` is the API base to put in ``BENTO_STRIPE['API_URL']``."""

    def __init__(self, sites: dict[str, tuple[str, str]] | None = None, clock=None):
        #: site_uuid → (publishable key, secret key).
        self.sites = dict(sites or {})
        #: Time source of recorded requests (the worker's clock in rate tests).
        self.clock = clock or time.time
        self.requests: list[Request] = []
        self.state: dict[str, BentoState] = {}
        self.faults: deque[Fault] = deque()
        self.lock = threading.Lock()
        self.httpd: ThreadingHTTPServer | None = None
        self.port = 0
        self.in_flight = 0
        self.idle = threading.Condition(self.lock)
        #: Seconds every request takes to answer (a real Bento is not on this machine).
        self.latency = 0.0
        #: The most requests handled at once, in all and per site.
        self.most_in_flight = 0
        self.most_in_flight_per_site: dict[str, int] = {}
        self._site_in_flight: dict[str, int] = {}

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> BentoServer:
        server = self

        class Handler(_Handler):
            stand_in = server

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Close the port: clients get connection refused until ``start()`` again."""
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    # -- scripting ------------------------------------------------------------------------
    def add_site(self, site) -> None:
        self.sites[site.bento_site_uuid] = (site.bento_publishable_key, site.bento_secret_key)

    def fail(self, times: int = 1, **fault) -> None:
        """The next ``times`` requests get this fault (503 by default), then normal answers."""
        with self.lock:
            self.faults.extend(Fault(**fault) for _ in range(times))

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no request is being handled (a slow one may outlive its client)."""
        with self.idle:
            self.idle.wait_for(lambda: self.in_flight == 0, timeout=timeout)

    # -- what Bento holds -----------------------------------------------------------------
    def bento(self, site_uuid: str) -> BentoState:
        with self.lock:
            return self.state.setdefault(site_uuid, BentoState())

    def events(self, site_uuid: str) -> list[dict]:
        return list(self.bento(site_uuid).events)

    def accepted(self, endpoint: str | None = None) -> list[Request]:
        return [
            r
            for r in self.requests
            if r.status == 200 and (endpoint is None or r.endpoint == endpoint)
        ]

    def max_per_minute(self, site_uuid: str, family: str) -> int:
        """The most requests of a site and family seen in any 60-second span."""
        times = sorted(
            r.at
            for r in self.requests
            if r.site_uuid == site_uuid and r.endpoint.startswith(family)
        )
        best, start = 0, 0
        for end, t in enumerate(times):
            while times[start] <= t - 60:
                start += 1
            best = max(best, end - start + 1)
        return best

    # -- handling -------------------------------------------------------------------------
    def handle(self, handler: _Handler) -> tuple[int, dict, dict]:
        site = (parse_qs(urlsplit(handler.path).query).get("site_uuid") or [""])[0]
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            now = self._site_in_flight[site] = self._site_in_flight.get(site, 0) + 1
            most = self.most_in_flight_per_site.get(site, 0)
            self.most_in_flight_per_site[site] = max(most, now)
        try:
            if self.latency:
                time.sleep(self.latency)
            return self._handle(handler)
        finally:
            with self.idle:
                self.in_flight -= 1
                self._site_in_flight[site] -= 1
                self.idle.notify_all()

    def _handle(self, handler: _Handler) -> tuple[int, dict, dict]:
        parts = urlsplit(handler.path)
        endpoint = parts.path[len(PREFIX) :] if parts.path.startswith(PREFIX) else parts.path
        site_uuid = (parse_qs(parts.query).get("site_uuid") or [""])[0]
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        user_agent = handler.headers.get("User-Agent", "")
        with self.lock:
            fault = self.faults.popleft() if self.faults else None
        status, payload, headers, body = self._answer(handler, endpoint, site_uuid, raw, user_agent)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and not (fault.delay and fault.process):
            status = fault.status
            payload = fault.body if fault.body is not None else {"error": f"Injected {status}"}
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        items = (
            len(body.get(ENDPOINTS.get(endpoint, ""), []) or []) if isinstance(body, dict) else 0
        )
        with self.lock:
            self.requests.append(
                Request(self.clock(), endpoint, site_uuid, status, items, body, user_agent)
            )
        if status == 200:
            self._apply(site_uuid, endpoint, body)
        return status, payload, headers

    def _answer(self, handler, endpoint, site_uuid, raw, user_agent):
        if handler.command != "POST" or endpoint not in ENDPOINTS:
            return 404, {"error": f"No route {handler.command} {endpoint}"}, {}, None
        if not user_agent.startswith("bento-stripe/"):
            return 403, {"error": "Blocked User-Agent"}, {}, None
        if site_uuid not in self.sites:
            return 400, {"error": "site_uuid is missing or unknown"}, {}, None
        auth = handler.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(":".join(self.sites[site_uuid]).encode()).decode()
        if auth != expected:
            return 401, {"error": "Invalid publishable or secret key"}, {}, None
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, {"error": "Body is not JSON"}, {}, None
        key = ENDPOINTS[endpoint]
        items = body.get(key) if isinstance(body, dict) else None
        if not isinstance(items, list) or not 1 <= len(items) <= 1000:
            return 400, {"error": f"{key} must be a list of 1 to 1000 items"}, {}, body
        problem = _shape_problem(endpoint, items)
        if problem:
            return 422, {"errors": [problem]}, {}, body
        return 200, {"results" if key != "subscribers" else "result": len(items)}, {}, body

    def _apply(self, site_uuid, endpoint, body) -> None:
        state = self.bento(site_uuid)
        with self.lock:
            for item in body[ENDPOINTS[endpoint]]:
                item = copy.deepcopy(item)
                if endpoint == "batch/events":
                    state.events.append(item)
                    state.subscribers.setdefault(item["email"], {}).update(item.get("fields") or {})
                elif endpoint == "batch/subscribers":
                    flat = {k: v for k, v in item.items() if k != "email"}
                    state.subscribers.setdefault(item["email"], {}).update(flat)
                else:
                    state.commands.append(item)
                    if item["command"] == "change_email" and item["email"] in state.subscribers:
                        state.subscribers[item["query"]] = state.subscribers.pop(item["email"])


def _shape_problem(endpoint: str, items: list) -> str | None:
    for position, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("email"):
            return f"item {position} has no email"
        if endpoint == "batch/events" and not item.get("type"):
            return f"event {position} has no type"
        if endpoint == "batch/events" and not isinstance(item.get("fields", {}), dict):
            return f"event {position} has fields that are not an object"
        if endpoint == "fetch/commands" and not item.get("command"):
            return f"command {position} has no command"
    return None


class _Handler(BaseHTTPRequestHandler):
    stand_in: BentoServer
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 - http.server's naming
        self._respond()

    def do_GET(self):  # noqa: N802
        self._respond()

    def _respond(self):
        status, payload, headers = self.stand_in.handle(self)
        data = (json.dumps(payload) if not isinstance(payload, str) else payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format, *args):  # noqa: A002 - quiet
        return


@pytest.fixture
def server():
    """A running Bento stand-in (modules that need an injected clock define their own)."""
    stand_in = BentoServer().start()
    yield stand_in
    stand_in.stop()
