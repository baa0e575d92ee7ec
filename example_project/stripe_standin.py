"""A local HTTP server that stands in for Stripe Connect: used by ``make demo`` and the tests.

It answers the few Stripe calls bento-stripe makes when a team installs the app:
``GET /oauth/authorize`` (a page with "Authorize" and "Cancel" buttons),
``POST /oauth/token``, ``POST /oauth/deauthorize`` and ``GET /v1/accounts/<id>``,
with Stripe's response shapes, and the lists the backfill and reconciliation read
(``GET /v1/customers``, ``charges``, ``disputes``, ``subscriptions``, ``invoices``,
``events``): empty, as the demo account has no history. Failures can be switched on (``fail_token``,
``fail_account``, ``fail_deauthorize``) to exercise every error path.
"""

from __future__ import annotations

import html
import json
import secrets
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

#: Stripe lists the backfill and reconciliation page through; the demo account's are empty.
HISTORY_LISTS = frozenset(
    f"/v1/{name}"
    for name in (
        "products",
        "prices",
        "customers",
        "charges",
        "disputes",
        "subscriptions",
        "invoices",
        "events",
    )
)


@dataclass
class StandInAccount:
    """A Stripe account that the stand-in lets a user pick on its authorize page."""

    id: str = "acct_1StandInDemo0001"
    display_name: str = "Backpack Coffee (stand-in)"
    email: str = "owner@backpack.example"
    country: str = "US"
    livemode: bool = False


@dataclass
class Recorded:
    """One request the stand-in received (method, path, form or query params, headers)."""

    method: str
    path: str
    params: dict
    headers: dict


@dataclass
class StandInState:
    """What the stand-in knows and how it should misbehave; tests change it between requests."""

    account: StandInAccount = field(default_factory=StandInAccount)
    #: None, "invalid_grant", or an HTTP status (500, 503) for ``POST /oauth/token``.
    fail_token: str | int | None = None
    #: None or an HTTP status for ``GET /v1/accounts/<id>``.
    fail_account: int | None = None
    #: None or an HTTP status for ``POST /oauth/deauthorize``.
    fail_deauthorize: int | None = None
    codes: dict[str, StandInAccount] = field(default_factory=dict)
    deauthorized: list[str] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue_code(self) -> str:
        """A fresh authorization code for the current account (Stripe's codes start ``ac_``)."""
        code = "ac_" + secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = self.account
        return code

    def redeem(self, code: str) -> StandInAccount | None:
        """The account of ``code``; a code works once, like Stripe's."""
        with self.lock:
            return self.codes.pop(code, None)

    def calls(self, path: str) -> list[Recorded]:
        """The requests received on ``path``."""
        return [r for r in self.requests if r.path == path]


AUTHORIZE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stripe (local stand-in): connect</title>
<style>
 body{{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;background:#f6f9fc;margin:0}}
 .card{{max-width:460px;margin:60px auto;background:#fff;border-radius:8px;padding:32px;
        box-shadow:0 2px 8px rgba(50,50,93,.15)}}
 h1{{font-size:20px;color:#32325d;margin-top:0}} p{{color:#525f7f;line-height:1.5}}
 .banner{{background:#635bff;color:#fff;padding:10px 16px;font-size:14px}}
 button{{font-size:15px;padding:10px 18px;border-radius:6px;border:0;cursor:pointer;margin-right:8px}}
 .go{{background:#635bff;color:#fff}} .no{{background:#e6ebf1;color:#32325d}}
</style></head>
<body><div class="banner">Local Stripe stand-in: no real Stripe account is involved</div>
<div class="card">
<h1>Connect {account} to this platform</h1>
<p>The platform <code>{client_id}</code> asks for <strong>{scope}</strong> access to the
Stripe account <strong>{account}</strong> (<code>{account_id}</code>, {mode} mode).</p>
<form method="post" action="/oauth/authorize/decision">
<input type="hidden" name="redirect_uri" value="{redirect_uri}">
<input type="hidden" name="state" value="{state}">
<button class="go" type="submit" name="decision" value="allow">Authorize</button>
<button class="no" type="submit" name="decision" value="deny">Cancel</button>
</form></div></body></html>
"""


def _with_query(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class StandInHandler(BaseHTTPRequestHandler):
    """Answers Stripe's OAuth and account endpoints from ``self.server.state``."""

    server_version = "StripeStandIn/1.0"

    @property
    def state(self) -> StandInState:
        return self.server.state  # type: ignore[attr-defined]

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        """Stay quiet: request lines carry authorization codes."""

    def _params(self) -> dict:
        parts = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            body = self.rfile.read(length).decode("utf-8")
            params.update({k: v[-1] for k, v in parse_qs(body).items()})
        with self.state.lock:
            self.state.requests.append(
                Recorded(self.command, parts.path, params, dict(self.headers.items()))
            )
        return params

    def _send(self, status: int, body: str, content_type: str = "application/json") -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", "req_standin_" + secrets.token_hex(6))
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status: int, payload: dict) -> None:
        self._send(status, json.dumps(payload))

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _oauth_error(self, status: int, error: str, description: str) -> None:
        self._json(status, {"error": error, "error_description": description})

    def _api_error(self, status: int) -> None:
        self._json(
            status,
            {"error": {"type": "api_error", "message": "The stand-in was told to fail."}},
        )

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        return header.startswith("Bearer sk_") and len(header) > len("Bearer sk_")

    def do_GET(self):  # noqa: N802 - http.server's naming
        path = urlsplit(self.path).path
        params = self._params()
        if path == "/oauth/authorize":
            return self._authorize_page(params)
        if path.startswith("/v1/accounts/"):
            return self._account(path.rsplit("/", 1)[-1])
        if path in HISTORY_LISTS:
            if not self._authorized():
                return self._json(
                    401, {"error": {"type": "invalid_request_error", "message": "No API key."}}
                )
            return self._json(200, {"object": "list", "url": path, "has_more": False, "data": []})
        if path == "/health":
            return self._json(200, {"ok": True})
        return self._json(404, {"error": {"type": "invalid_request_error", "message": "Not found"}})

    def do_POST(self):  # noqa: N802
        path = urlsplit(self.path).path
        params = self._params()
        if path == "/oauth/authorize/decision":
            return self._decision(params)
        if path == "/oauth/token":
            return self._token(params)
        if path == "/oauth/deauthorize":
            return self._deauthorize(params)
        return self._json(404, {"error": {"type": "invalid_request_error", "message": "Not found"}})

    def _authorize_page(self, params: dict) -> None:
        if params.get("response_type") != "code" or not params.get("redirect_uri"):
            return self._send(400, "response_type=code and redirect_uri are required", "text/plain")
        account = self.state.account
        page = AUTHORIZE_PAGE.format(
            account=html.escape(account.display_name),
            account_id=html.escape(account.id),
            mode="live" if account.livemode else "test",
            client_id=html.escape(params.get("client_id", "")),
            scope=html.escape(params.get("scope", "read_only")),
            redirect_uri=html.escape(params["redirect_uri"]),
            state=html.escape(params.get("state", "")),
        )
        self._send(200, page, "text/html")

    def _decision(self, params: dict) -> None:
        target = params.get("redirect_uri", "")
        if not target.startswith(("http://", "https://")):
            return self._send(400, "redirect_uri must be an absolute URL", "text/plain")
        if params.get("decision") == "allow":
            reply = {"code": self.state.issue_code(), "scope": "read_only"}
        else:
            reply = {"error": "access_denied", "error_description": "The user denied your request"}
        reply["state"] = params.get("state", "")
        self._redirect(_with_query(target, reply))

    def _token(self, params: dict) -> None:
        if not self._authorized():
            return self._oauth_error(401, "invalid_client", "No valid API key provided.")
        failure = self.state.fail_token
        if isinstance(failure, int):
            return self._api_error(failure)
        if params.get("grant_type") != "authorization_code":
            return self._oauth_error(400, "unsupported_grant_type", "Use authorization_code.")
        account = None if failure == "invalid_grant" else self.state.redeem(params.get("code", ""))
        if account is None:
            return self._oauth_error(
                400, "invalid_grant", "Authorization code does not exist: " + params.get("code", "")
            )
        mode = "live" if account.livemode else "test"
        self._json(
            200,
            {
                "access_token": f"sk_{mode}_standin_" + secrets.token_urlsafe(24),
                "livemode": account.livemode,
                "refresh_token": "rt_" + secrets.token_urlsafe(24),
                "token_type": "bearer",
                "stripe_publishable_key": f"pk_{mode}_standin_" + secrets.token_urlsafe(12),
                "stripe_user_id": account.id,
                "scope": "read_only",
            },
        )

    def _deauthorize(self, params: dict) -> None:
        if not self._authorized():
            return self._oauth_error(401, "invalid_client", "No valid API key provided.")
        if self.state.fail_deauthorize:
            return self._api_error(self.state.fail_deauthorize)
        user_id = params.get("stripe_user_id", "")
        if not user_id or not params.get("client_id"):
            return self._oauth_error(400, "invalid_request", "client_id and stripe_user_id needed.")
        with self.state.lock:
            self.state.deauthorized.append(user_id)
        self._json(200, {"stripe_user_id": user_id})

    def _account(self, account_id: str) -> None:
        if not self._authorized():
            return self._json(401, {"error": {"type": "invalid_request_error"}})
        if self.state.fail_account:
            return self._api_error(self.state.fail_account)
        account = self.state.account
        if account_id != account.id:
            return self._json(
                404,
                {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "resource_missing",
                        "message": f"No such account: '{account_id}'",
                    }
                },
            )
        self._json(
            200,
            {
                "id": account.id,
                "object": "account",
                "business_profile": {"name": account.display_name, "url": None},
                "business_type": "company",
                "charges_enabled": True,
                "country": account.country,
                "default_currency": "usd",
                "details_submitted": True,
                "email": account.email,
                "payouts_enabled": True,
                "settings": {"dashboard": {"display_name": account.display_name}},
                "type": "standard",
            },
        )


class StripeStandIn:
    """Runs the stand-in on ``host``:``port`` (0: a free port) in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.state = StandInState()
        self.httpd = ThreadingHTTPServer((host, port), StandInHandler)
        self.httpd.daemon_threads = True
        self.httpd.state = self.state  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StripeStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> StripeStandIn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def refused_url() -> str:
    """The URL of a local port where nothing listens: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


if __name__ == "__main__":
    import argparse
    import time

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=12111)
    args = parser.parse_args()
    with StripeStandIn(port=args.port) as standin:
        print(f"Stripe stand-in on {standin.url} (Ctrl-C stops it)", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
