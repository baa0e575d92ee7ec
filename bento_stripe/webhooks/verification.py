"""Checking a webhook request: the endpoint's encrypted secret, the signature, the event shape."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

import stripe
from django.views.decorators.debug import sensitive_variables
from djstripe.models import WebhookEndpoint

from .. import crypto
from ..conf import app_settings
from ..exceptions import InvalidWebhook

#: One ``key=value`` item of a ``Stripe-Signature`` header (``t=...``, ``v1=...``, ``v0=...``).
_ITEM = re.compile(r"([a-z][a-z0-9]*)=([A-Za-z0-9_]*)")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_V1 = re.compile(r"[0-9a-f]{64}")
#: Longer headers are refused unread (Stripe's carries a few signatures while secrets roll).
MAX_HEADER_CHARS = 2048
#: Nesting depth of a Stripe event is about ten; anything much deeper is not one.
MAX_DEPTH = 64
#: ``created`` is UNIX seconds: from 1970 to the end of year 9999 (what a datetime can hold).
MAX_CREATED = 253_402_300_799
#: Longest id, type or account id the event table stores (its CharFields).
MAX_ID_CHARS = 255


def endpoint_secret(endpoint: WebhookEndpoint) -> str:
    """The endpoint's signing secret, decrypted from the ciphertext stored in ``secret``."""
    return crypto.decrypt(endpoint.secret, label="the webhook endpoint's signing secret")


@sensitive_variables("secret")
def store_secret(endpoint: WebhookEndpoint, secret: str) -> None:
    """Keep ``secret`` on the endpoint as ciphertext (dj-stripe would keep it in plain text)."""
    endpoint.secret = crypto.encrypt(secret)


def tolerance(endpoint: WebhookEndpoint) -> int:
    """Seconds of clock skew accepted: the endpoint's own, else ``WEBHOOK_TOLERANCE``."""
    return int(endpoint.djstripe_tolerance or app_settings.WEBHOOK_TOLERANCE)


@dataclass(frozen=True)
class SignatureHeader:
    """A ``Stripe-Signature`` header read strictly: one timestamp, its ``v1`` signatures."""

    timestamp: int
    signatures: tuple[str, ...]

    def canonical(self) -> str:
        """The header rebuilt from what was read, so every check sees the same timestamp."""
        return ",".join([f"t={self.timestamp}", *(f"v1={s}" for s in self.signatures)])


def parse_header(header: str) -> SignatureHeader | None:
    """The header's timestamp and signatures, or None when it is not exactly Stripe's form.

    Refused: anything but ``key=value`` items separated by bare commas, no ``t`` or more
    than one (a second ``t`` could otherwise be read by one check and not by another),
    a ``t`` that is not ASCII digits, and no well-formed ``v1`` signature.
    """
    if not header or len(header) > MAX_HEADER_CHARS:
        return None
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in header.split(","):
        match = _ITEM.fullmatch(item)
        if match is None:
            return None
        key, value = match.groups()
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            if _V1.fullmatch(value) is None:
                return None
            signatures.append(value)
    if len(timestamps) != 1 or not _TIMESTAMP.fullmatch(timestamps[0]) or not signatures:
        return None
    return SignatureHeader(int(timestamps[0]), tuple(signatures))


@sensitive_variables("secret")
def signature_refusal(body: str, header: str, secret: str, limit: int) -> str:
    """Why the signature of ``body`` is refused, or ``""`` when Stripe signed it in time.

    The timestamp must lie within ``limit`` seconds of now both ways (Stripe's check
    refuses only timestamps too old). No request header can replace ``secret``.
    """
    parsed = parse_header(header)
    if parsed is None:
        return "Malformed Stripe-Signature header."
    if abs(parsed.timestamp - time.time()) > limit:
        return "Timestamp outside the tolerance."
    try:
        stripe.WebhookSignature.verify_header(body, parsed.canonical(), secret, limit)
    except stripe.SignatureVerificationError:
        return "Bad signature."
    return ""


def mode_refusal(endpoint: WebhookEndpoint, event: dict[str, Any]) -> str:
    """Why ``endpoint`` must refuse ``event`` because of its mode, or ``""`` to accept it.

    A test-mode endpoint (every ``--local`` endpoint unless made with ``--livemode``, and
    any endpoint whose ``livemode`` is not true) takes test-mode events only: its secret
    is the loosely kept kind (``stripe listen`` prints it), so it must never carry live
    money. A live Connect endpoint receives both modes, as Stripe sends them.
    """
    if event.get("livemode") is True and endpoint.livemode is not True:
        return "A live-mode event sent to a test-mode endpoint."
    return ""


def _refuse_constant(name: str) -> Any:
    raise InvalidWebhook(f"The body holds {name}, which is not JSON.")


#: The only way a NUL or a lone surrogate gets into a string json.loads makes from a
#: str (decoded UTF-8 holds no surrogate; JSON allows no raw control character in a
#: string): a ``\u0000`` or ``\uD800``-``\uDFFF`` escape. A body without one (nearly every
#: body) needs no look at its strings; with one (or an escaped backslash before such
#: text) every string is looked at.
_STRING_HAZARD = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def _check_depth(event: Any) -> None:
    """Refuse nesting deeper than MAX_DEPTH, without recursion, looking at containers only."""
    stack: list[tuple[Any, int]] = [(event, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidWebhook("The body is nested too deeply for a Stripe event.")
        for item in value.values() if isinstance(value, dict) else value:
            if isinstance(item, dict | list):
                stack.append((item, depth + 1))


def _check_values(event: Any) -> None:
    """Refuse nesting deeper than MAX_DEPTH and strings no database can store (NUL, lone
    surrogates), without recursion (a deep body must not exhaust the stack)."""
    stack: list[tuple[Any, int]] = [(event, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value or (not value.isascii() and _has_surrogate(value)):
                raise InvalidWebhook("The body holds a string that cannot be stored.")
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise InvalidWebhook("The body is nested too deeply for a Stripe event.")
        items = list(value.items()) if isinstance(value, dict) else [(None, v) for v in value]
        for key, item in items:
            if key is not None:
                stack.append((key, depth))
            stack.append((item, depth + 1))


def _has_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _short_str(value: Any, *, prefix: str = "") -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS and value.startswith(prefix)


def parse_event(body: str) -> dict[str, Any]:
    """The Stripe event in a verified body, or InvalidWebhook when it is not one.

    Strict, so that no signed body can make the request fail later with a 500: the
    values the event table stores are checked against its columns.
    """
    try:
        event = json.loads(body, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise InvalidWebhook("The body is nested too deeply for a Stripe event.") from exc
    except ValueError as exc:
        raise InvalidWebhook("The body is not JSON.") from exc
    if not isinstance(event, dict) or event.get("object") != "event":
        raise InvalidWebhook("The body is not a Stripe event.")
    if _STRING_HAZARD.search(body):
        _check_values(event)
    else:
        _check_depth(event)
    data = event.get("data")
    created: Any = event.get("created")
    account = event.get("account")
    checks = (
        _short_str(event.get("id"), prefix="evt_"),
        _short_str(event.get("type")),
        isinstance(created, int) and not isinstance(created, bool),
        isinstance(data, dict) and isinstance(data.get("object"), dict),
        account is None or account == "" or _short_str(account),
        isinstance(event.get("livemode", False), bool),
    )
    if not all(checks):
        raise InvalidWebhook(
            "The body is not a Stripe event (id, type, created, livemode, account, data.object)."
        )
    if not 0 <= created <= MAX_CREATED:
        raise InvalidWebhook("The event's created time is out of range.")
    if not isinstance(event["data"]["object"].get("id", ""), str | None):
        raise InvalidWebhook("The event's object has no usable id.")
    return event
