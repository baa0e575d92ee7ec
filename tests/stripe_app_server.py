"""A real local HTTP server standing in for a Stripe App with OAuth install links.

It answers what bento-stripe asks of Stripe for an app install, with Stripe's semantics
(https://docs.stripe.com/stripe-apps/api-authentication/oauth, ../shared/stripe/stripe-apps-oauth.md):

- ``GET <install link path>``: the marketplace's authorize page ("Install" / "Cancel"); each
  configured link path is one mode (the test link has an extra ``chnlink_`` segment);
- ``POST /v1/oauth/token`` (HTTP Basic, the owner's key of the code's mode, empty password):
  ``authorization_code`` (a code works once, for 5 minutes) and ``refresh_token``; access
  tokens live an hour on a clock the test controls; every refresh rolls the pair and kills
  the previous one; a dead or reused token answers 400 ``invalid_grant``;
- Bearer API calls (``/v1/customers|charges|coupons|accounts/<id>``) scoped to the
  installing account: an expired or killed token answers 401;
- ``GET /v1/apps/installs`` and ``POST /v1/apps/installs/<id>/uninstall`` with the owner's
  key and ``Stripe-Account``; an uninstalled account's tokens stop working.
"""

from __future__ import annotations

import base64
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest

#: The owner's keys the stand-in accepts, per mode (tests/settings.py's platform key is test).
OWNER_KEYS = {False: "sk_test_platform_key_for_tests", True: "sk_live_app_owner_key_for_tests"}
LIVE_LINK_PATH = "/oauth/v2/authorize"
TEST_LINK_PATH = "/oauth/v2/chnlink_1StandInTest/authorize"
CLIENT_ID = "ca_app_standin_0001"
ACCESS_LIFETIME = 3600
CODE_LIFETIME = 300


@dataclass
class Grant:
    """A live token pair of one install."""

    account: str
    livemode: bool
    access_token: str
    refresh_token: str
    expires_at: float


@dataclass
class AppStandInState:
    """What the stand-in knows; tests change it (and its clock) between requests."""

    #: The account the next install picks, per mode.
    account: str = "acct_1AppInstallStandIn"
    display_name: str = "Blue Bottle (app stand-in)"
    #: Seconds the test moved the clock on (the stand-in's and, through the fixture, Django's).
    offset: float = 0.0
    codes: dict[str, tuple[str, bool, float]] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)  # by refresh token
    access: dict[str, Grant] = field(default_factory=dict)  # by access token
    installs: dict[tuple[str, bool], dict] = field(default_factory=dict)
    objects: dict[tuple[str, str], dict] = field(default_factory=dict)
    refreshes: int = 0
    #: Every token and code ever issued (the secrets scan looks for each).
    issued: list[str] = field(default_factory=list)
    exchanges: int = 0
    #: Seconds a refresh takes (lets racing workers overlap).
    refresh_delay: float = 0.0
    requests: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clock(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.offset += seconds

    def add(self, account: str, obj: dict) -> None:
        self.objects[(account, obj["id"])] = obj

    def issue_code(self, livemode: bool) -> str:
        code = "ac_" + secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = (self.account, livemode, self.clock() + CODE_LIFETIME)
            self.issued.append(code)
        return code

    def _pair(self, account: str, livemode: bool) -> Grant:
        mode = "live" if livemode else "test"
        grant = Grant(
            account=account,
            livemode=livemode,
            access_token=f"rk_{mode}_" + secrets.token_urlsafe(24),
            refresh_token=f"rt_{mode}_" + secrets.token_urlsafe(24),
            expires_at=self.clock() + ACCESS_LIFETIME,
        )
        self.grants[grant.refresh_token] = grant
        self.access[grant.access_token] = grant
        self.issued += [grant.access_token, grant.refresh_token]
        return grant

    def _kill_account(self, account: str, livemode: bool) -> None:
        """Authorising again or uninstalling ends every earlier pair of that install."""
        for token, grant in list(self.grants.items()):
            if grant.account == account and grant.livemode == livemode:
                del self.grants[token]
                self.access.pop(grant.access_token, None)

    def live_tokens(self) -> list[Grant]:
        with self.lock:
            return list(self.grants.values())

    def calls(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Stripe Marketplace (local stand-in): install app</title></head>
<body><div class="banner">Local Stripe App stand-in ({mode} mode)</div>
<h1>Install this app on {name}</h1>
<p>The app <code>{client_id}</code> asks to read data of <strong>{account}</strong>.</p>
<form method="post" action="{action}">
<input type="hidden" name="redirect_uri" value="{redirect_uri}">
<input type="hidden" name="state" value="{state}">
<button type="submit" name="decision" value="allow" id="install">Install</button>
<button type="submit" name="decision" value="deny" id="cancel">Cancel</button>
</form></body></html>"""


def _handler(state: AppStandInState):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # request lines carry codes
            return

        def _params(self) -> dict:
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                body = self.rfile.read(length).decode()
                params.update({k: v[-1] for k, v in parse_qs(body).items()})
            with state.lock:
                state.requests.append(
                    {
                        "method": self.command,
                        "path": parts.path,
                        "params": params,
                        "authorization": self.headers.get("Authorization", ""),
                        "account": self.headers.get("Stripe-Account", ""),
                    }
                )
            return params

        def _send(self, status: int, body: str, ctype: str = "application/json") -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", "req_appstandin")
            self.end_headers()
            self.wfile.write(data)

        def _json(self, status: int, payload: dict) -> None:
            self._send(status, json.dumps(payload))

        def _api_error(self, status: int, message: str, code: str = "") -> None:
            self._json(
                status,
                {"error": {"type": "invalid_request_error", "message": message, "code": code}},
            )

        def _basic_key(self) -> str:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                return ""
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return user if password == "" else ""

        def _bearer(self) -> str:
            header = self.headers.get("Authorization", "")
            return header[7:] if header.startswith("Bearer ") else ""

        def do_GET(self):  # noqa: N802
            path = urlsplit(self.path).path
            params = self._params()
            if path in (LIVE_LINK_PATH, TEST_LINK_PATH):
                return self._page(path, params)
            if path == "/v1/apps/installs":
                return self._installs()
            parts = path.strip("/").split("/")
            if len(parts) == 3 and parts[0] == "v1":
                return self._object(parts[1], parts[2])
            return self._api_error(404, "Unrecognized request URL")

        def do_POST(self):  # noqa: N802
            path = urlsplit(self.path).path
            params = self._params()
            if path.endswith("/decision"):
                return self._decision(path[: -len("/decision")], params)
            if path == "/v1/oauth/token":
                return self._token(params)
            if path.startswith("/v1/apps/installs/") and path.endswith("/uninstall"):
                return self._uninstall(path.split("/")[4])
            return self._api_error(404, "Unrecognized request URL")

        def _page(self, path: str, params: dict) -> None:
            if params.get("client_id") != CLIENT_ID or not params.get("redirect_uri"):
                return self._send(400, "The provided OAuth link is invalid", "text/plain")
            page = PAGE.format(
                mode="test" if path == TEST_LINK_PATH else "live",
                name=html.escape(state.display_name),
                client_id=html.escape(params["client_id"]),
                account=html.escape(state.account),
                action=html.escape(path + "/decision"),
                redirect_uri=html.escape(params["redirect_uri"]),
                state=html.escape(params.get("state", "")),
            )
            self._send(200, page, "text/html; charset=utf-8")

        def _decision(self, link_path: str, params: dict) -> None:
            target = params.get("redirect_uri", "")
            if params.get("decision") == "allow":
                reply = {"code": state.issue_code(link_path != TEST_LINK_PATH)}
            else:
                reply = {
                    "error": "access_denied",
                    "error_description": "The user denied your request",
                }
            reply["state"] = params.get("state", "")
            parts = urlsplit(target)
            query = parts.query + ("&" if parts.query else "") + urlencode(reply)
            self.send_response(302)
            self.send_header(
                "Location", urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
            )
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _token(self, params: dict) -> None:
            key = self._basic_key()
            if key not in OWNER_KEYS.values():
                return self._api_error(401, "Invalid API Key provided")
            key_live = key == OWNER_KEYS[True]
            grant_type = params.get("grant_type")
            with state.lock:
                if grant_type == "authorization_code":
                    found = state.codes.pop(params.get("code", ""), None)
                    if found is None or found[2] < state.clock() or found[1] != key_live:
                        return self._json(
                            400,
                            {
                                "error": "invalid_grant",
                                "error_description": "Authorization code does not exist",
                            },
                        )
                    state._kill_account(found[0], found[1])
                    grant = state._pair(found[0], found[1])
                    state.installs[(found[0], found[1])] = {
                        "id": "appinst_" + secrets.token_hex(8),
                        "object": "apps.install",
                        "status": "installed",
                    }
                    state.exchanges += 1
                elif grant_type == "refresh_token":
                    old = state.grants.get(params.get("refresh_token", ""))
                    if old is None or old.livemode != key_live:
                        return self._json(
                            400,
                            {
                                "error": "invalid_grant",
                                "error_description": "Refresh token does not exist",
                            },
                        )
                    state.refreshes += 1
                    del state.grants[old.refresh_token]
                    state.access.pop(old.access_token, None)
                    grant = state._pair(old.account, old.livemode)
                else:
                    return self._json(400, {"error": "unsupported_grant_type"})
            if grant_type == "refresh_token" and state.refresh_delay:
                time.sleep(state.refresh_delay)
            mode = "live" if grant.livemode else "test"
            self._json(
                200,
                {
                    "access_token": grant.access_token,
                    "refresh_token": grant.refresh_token,
                    "livemode": grant.livemode,
                    "scope": "stripe_apps",
                    "stripe_publishable_key": f"pk_{mode}_" + secrets.token_urlsafe(12),
                    "stripe_user_id": grant.account,
                    "token_type": "bearer",
                },
            )

        def _owner_account(self) -> tuple[str, bool] | None:
            token = self._bearer()
            account = self.headers.get("Stripe-Account", "")
            if token not in OWNER_KEYS.values() or not account:
                return None
            return account, token == OWNER_KEYS[True]

        def _installs(self) -> None:
            owner = self._owner_account()
            if owner is None:
                return self._api_error(401, "Invalid API Key provided")
            install = state.installs.get(owner)
            self._json(
                200, {"object": "list", "data": [install] if install else [], "has_more": False}
            )

        def _uninstall(self, install_id: str) -> None:
            owner = self._owner_account()
            if owner is None:
                return self._api_error(401, "Invalid API Key provided")
            with state.lock:
                install = state.installs.get(owner)
                if install is None or install["id"] != install_id:
                    return self._api_error(
                        404, f"No such install: '{install_id}'", "resource_missing"
                    )
                install["status"] = "uninstalling"
                state._kill_account(*owner)
            self._json(200, install)

        def _object(self, kind: str, object_id: str) -> None:
            if kind not in ("customers", "charges", "coupons", "accounts"):
                return self._api_error(404, "Unrecognized request URL")
            token = self._bearer()
            with state.lock:
                grant = state.access.get(token)
                expired = grant is not None and grant.expires_at <= state.clock()
            if grant is None or expired:
                shown = token[:8] + "*" * 4
                word = "Expired" if expired else "Invalid"
                return self._api_error(401, f"{word} API Key provided: {shown}")
            if kind == "accounts":
                if object_id != grant.account:
                    return self._api_error(
                        404, f"No such account: '{object_id}'", "resource_missing"
                    )
                return self._json(
                    200,
                    {
                        "id": grant.account,
                        "object": "account",
                        "settings": {"dashboard": {"display_name": state.display_name}},
                    },
                )
            obj = state.objects.get((grant.account, object_id))
            if obj is None:
                return self._api_error(404, f"No such object: '{object_id}'", "resource_missing")
            return self._json(200, obj)

    return Handler


class AppStandIn:
    """Runs the stand-in on a free local port."""

    def __init__(self) -> None:
        self.state = AppStandInState()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def link(self, livemode: bool) -> str:
        return f"{self.url}{LIVE_LINK_PATH if livemode else TEST_LINK_PATH}?client_id={CLIENT_ID}"

    def __enter__(self) -> AppStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def app_server():
    with AppStandIn() as server:
        yield server


@pytest.fixture
def app_settings_on(settings, app_server, monkeypatch):
    """Installs go through the app stand-in: kind "app", both links, both owner keys, and the
    token service's clock tied to the stand-in's."""
    settings.BENTO_STRIPE = {
        **settings.BENTO_STRIPE,
        "STRIPE_INSTALL_KIND": "app",
        "STRIPE_API_BASE": app_server.url,
        "STRIPE_APP_INSTALL_URL": app_server.link(True),
        "STRIPE_APP_TEST_INSTALL_URL": app_server.link(False),
        "STRIPE_SECRET_KEY": OWNER_KEYS[True],
        "STRIPE_TEST_SECRET_KEY": OWNER_KEYS[False],
    }
    from django.utils import timezone

    monkeypatch.setattr(
        timezone, "now", lambda: datetime.fromtimestamp(app_server.state.clock(), tz=UTC)
    )
    return settings
