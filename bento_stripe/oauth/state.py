"""OAuth ``state``: random, signed, single use, bound to the session, the user and the team.

It also says how the connection is being made (``kind``: Connect OAuth or a Stripe App
install) and, for an app install, in which mode: the one callback URL serves both, and
the app's token exchange must use the owner's key of that mode.

The value sent to Stripe is a signed, timestamped token carrying a random nonce and
the ids it is bound to. The nonce is also kept in the user's session; consuming a
state removes it there, so a state works once, and only in the session that
started the flow. Nothing is stored in the database.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from django.core import signing

from ..conf import app_settings
from ..exceptions import InvalidState

#: Session key of the pending states:
#: ``{nonce: {"team": id, "site": id, "user": id, "t": ts, "kind": str, "live": bool|None}}``.
SESSION_KEY = "bento_stripe_oauth_states"
#: Salt of the signature, so no other signed value of the project passes for a state.
SALT = "bento_stripe.oauth.state"
#: Pending states kept per session at most (the oldest are dropped).
MAX_PENDING = 10


@dataclass(frozen=True)
class StateData:
    """What a valid state was bound to."""

    team_id: int
    site_id: int
    user_id: object
    #: "connect" or "app".
    kind: str = "connect"
    #: The mode of an app install (None for Connect, whose mode is the token answer's).
    livemode: bool | None = None


def issue(
    request, *, team_id: int, site_id: int, kind: str = "connect", livemode: bool | None = None
) -> str:
    """A new state for ``request``'s session and user, to send to Stripe's authorize page."""
    nonce = secrets.token_urlsafe(32)
    pending = dict(request.session.get(SESSION_KEY, {}))
    pending[nonce] = {
        "team": team_id,
        "site": site_id,
        "user": str(request.user.pk),  # str: UUID primary keys are JSON-safe too
        "t": int(time.time()),
        "kind": kind,
        "live": livemode,
    }
    if len(pending) > MAX_PENDING:
        for old in sorted(pending, key=lambda n: pending[n]["t"])[: len(pending) - MAX_PENDING]:
            del pending[old]
    request.session[SESSION_KEY] = pending
    payload = {"n": nonce, "t": team_id, "u": str(request.user.pk), "k": kind, "m": livemode}
    return signing.dumps(payload, salt=SALT, compress=False)


def consume(request, value: str | None) -> StateData:
    """Check ``value`` against the session and user, and use it up; InvalidState if it fails."""
    if not value:
        raise InvalidState("The request from Stripe carries no state.")
    max_age = app_settings.OAUTH_STATE_MAX_AGE
    try:
        payload = signing.loads(value, salt=SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        _forget(request, _unsigned_nonce(value))
        raise InvalidState("The state has expired.") from exc
    except signing.BadSignature as exc:
        raise InvalidState("The state's signature is not valid.") from exc
    nonce = payload.get("n") if isinstance(payload, dict) else None
    pending = dict(request.session.get(SESSION_KEY, {}))
    entry = pending.pop(nonce, None) if isinstance(nonce, str) else None
    if entry is None:
        raise InvalidState("The state was already used or belongs to another session.")
    request.session[SESSION_KEY] = pending  # single use, whatever follows
    user_id = str(getattr(request.user, "pk", None))
    if entry["user"] != user_id or payload.get("u") != user_id:
        raise InvalidState("The state belongs to another user.")
    if entry["team"] != payload.get("t"):
        raise InvalidState("The state was issued for another team.")
    if time.time() - entry["t"] > max_age:
        raise InvalidState("The state has expired.")
    kind, live = entry.get("kind", "connect"), entry.get("live")
    if payload.get("k", "connect") != kind or payload.get("m") != live:
        raise InvalidState("The state was issued for another kind of connection or mode.")
    return StateData(
        team_id=entry["team"],
        site_id=entry["site"],
        user_id=request.user.pk,
        kind=kind,
        livemode=live,
    )


def _unsigned_nonce(value: str) -> str | None:
    """The nonce of an expired but well-signed state, to drop it from the session."""
    try:
        payload = signing.loads(value, salt=SALT)
    except signing.BadSignature:
        return None
    return payload.get("n") if isinstance(payload, dict) else None


def _forget(request, nonce: str | None) -> None:
    pending = dict(request.session.get(SESSION_KEY, {}))
    if nonce and pending.pop(nonce, None) is not None:
        request.session[SESSION_KEY] = pending
