"""A real local HTTP server standing in for Stripe's API: lookups and webhook endpoints."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest

#: Objects retrieved by id: ``GET /v1/<kind>/<id>``.
STAND_IN_OBJECTS = ("customers", "charges", "coupons", "products", "prices")


class StripeStandIn:
    """Objects served per connected account, and every request received."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict] = {}
        self.requests: list[dict] = []
        self.url = ""
        #: While set, every lookup is answered 503 (Stripe unreachable for a while).
        self.refusing = False
        #: Keep only the last requests (a long chaos run makes many).
        self.keep_requests = True

    def add(self, account: str, obj: dict) -> None:
        self.objects[(account, obj["id"])] = obj

    def expanded(
        self, account: str, obj: dict, path: str, expand: list[str], prefix: str = ""
    ) -> dict:
        """``obj`` with the id at ``path`` (dotted) replaced by its object, as Stripe's
        ``expand[]`` does, when ``prefix + path`` is asked for and the object is known."""
        if prefix + path not in expand:
            return obj
        head, _, rest = path.partition(".")
        value = obj.get(head)
        if rest and isinstance(value, dict):
            return {**obj, head: self.expanded(account, value, rest, [rest])}
        if isinstance(value, str) and (account, value) in self.objects:
            return {**obj, head: self.objects[(account, value)]}
        return obj


def _handler(stand_in: StripeStandIn):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output quiet
            return

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", "req_standin")
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qsl(self.rfile.read(length).decode())
            if self.path == "/oauth/deauthorize":
                fields = dict(form)
                return self._send(200, {"stripe_user_id": fields.get("stripe_user_id", "")})
            stand_in.requests.append(
                {
                    "method": "POST",
                    "path": self.path,
                    "form": form,
                    "authorization": self.headers.get("Authorization", ""),
                }
            )
            if self.path != "/v1/webhook_endpoints":
                return self._send(404, {"error": {"type": "invalid_request_error"}})
            fields = dict(form)
            events = [v for k, v in form if k.startswith("enabled_events[")]
            metadata = {k[9:-1]: v for k, v in form if k.startswith("metadata[")}
            return self._send(
                200,
                {
                    "id": "we_1StandIn0001",
                    "object": "webhook_endpoint",
                    "url": fields["url"],
                    "enabled_events": events,
                    "livemode": False,
                    "status": "enabled",
                    "api_version": "2025-10-29.clover",
                    "application": "ca_test_client_id" if fields.get("connect") else None,
                    "metadata": metadata,
                    "secret": "whsec_from_stripe_standin_0123456789",
                },
            )

        def do_GET(self):
            account = self.headers.get("Stripe-Account", "")
            if stand_in.keep_requests:
                stand_in.requests.append(
                    {
                        "path": self.path,
                        "account": account,
                        "authorization": self.headers.get("Authorization", ""),
                    }
                )
            if stand_in.refusing:
                return self._send(503, {"error": {"type": "api_error", "message": "Refusing"}})
            path, _, query = self.path.partition("?")
            parts = path.strip("/").split("/")
            expand = [v for k, v in parse_qsl(query) if k.startswith("expand")]
            if parts[:3] == ["v1", "checkout", "sessions"] and parts[4:] == ["line_items"]:
                # A checkout session's line items: stored as a list under "<id>/line_items".
                items = stand_in.objects.get((account, f"{parts[3]}/line_items"))
                if items is None:
                    return self._send(404, {"error": {"type": "invalid_request_error"}})
                data = [
                    stand_in.expanded(account, item, "price.product", expand, "data.")
                    for item in items["data"]
                ]
                return self._send(200, {"object": "list", "data": data, "has_more": False})
            if len(parts) != 3 or parts[0] != "v1" or parts[1] not in STAND_IN_OBJECTS:
                return self._send(404, {"error": {"type": "invalid_request_error"}})
            obj = stand_in.objects.get((account, parts[2]))
            if obj is not None:
                obj = stand_in.expanded(account, obj, "product", expand)
            if obj is None:
                return self._send(
                    404,
                    {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "resource_missing",
                            "message": f"No such object: '{parts[2]}'",
                        }
                    },
                )
            return self._send(200, obj)

    return Handler


def serve(stand_in: StripeStandIn) -> ThreadingHTTPServer:
    """Serve ``stand_in`` on a free port of 127.0.0.1 (sets its ``url``); ``shutdown()`` ends it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stand_in))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}"
    return server


@pytest.fixture
def stripe_api(settings):
    """Start the stand-in on 127.0.0.1 and point ``STRIPE_API_BASE`` at it."""
    stand_in = StripeStandIn()
    server = serve(stand_in)
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "STRIPE_API_BASE": stand_in.url}
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
