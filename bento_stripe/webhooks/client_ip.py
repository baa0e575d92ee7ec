"""The client address of a webhook request, trusting ``X-Forwarded-For`` only from known proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from django.http import HttpRequest

from ..conf import app_settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Stored when a request carries no usable address at all.
UNKNOWN = "0.0.0.0"  # noqa: S104 - a placeholder value, nothing listens on it


def trusted_networks(value: object = None) -> list[Network]:
    """``WEBHOOK_TRUSTED_PROXIES`` as networks (addresses or CIDR ranges); ValueError if bad."""
    entries = app_settings.WEBHOOK_TRUSTED_PROXIES if value is None else value
    if isinstance(entries, str):
        entries = entries.split(",")
    if not isinstance(entries, Iterable):
        raise ValueError("not a list of addresses")
    return [ipaddress.ip_network(str(e).strip(), strict=False) for e in entries if str(e).strip()]


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """The address that sent ``request``: ``REMOTE_ADDR``, unless that is a trusted proxy.

    Through trusted proxies, ``X-Forwarded-For`` is read from the right (each proxy appends
    the address it saw) and the first address that is not a trusted proxy is the client;
    entries left of it are whatever the client wrote and are never believed.
    """
    remote = _address(str(request.META.get("REMOTE_ADDR") or ""))
    if remote is None:
        return UNKNOWN
    networks = trusted_networks()
    if not networks:
        return str(remote)
    hops = [h for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    current = remote
    while any(current in network for network in networks) and hops:
        previous = _address(hops.pop())
        if previous is None:
            break  # a garbled entry: the last trusted hop is as far as we can see
        current = previous
    return str(current)
