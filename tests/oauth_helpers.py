"""Helpers that walk the OAuth journey through Django's test client and the Stripe stand-in."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests
from django.urls import reverse

from tests.factories import MembershipFactory, SiteFactory, TeamFactory, UserFactory


def manager(role: str = "owner", *, sites: int = 2):
    """A user with ``role`` in a new team that has ``sites`` sites: (user, team, [sites])."""
    team = TeamFactory()
    user = UserFactory()
    MembershipFactory(team=team, user=user, role=role)
    return user, team, [SiteFactory(team=team) for _ in range(sites)]


def query(url: str) -> dict[str, str]:
    """The query parameters of ``url``, one value each."""
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


def start(client, team, site=None):
    """POST the confirmation page; returns the response (a redirect to Stripe when it works)."""
    data = {"site": site.pk} if site is not None else {}
    return client.post(reverse("bento_stripe:connect_new", args=[team.pk]), data)


def decide(authorize_url: str, decision: str = "allow") -> str:
    """Press "Authorize" (or "Cancel") on the stand-in's page; returns the callback URL it sends to."""
    params = query(authorize_url)
    page = requests.get(authorize_url, timeout=10)
    assert page.status_code == 200 and "Authorize" in page.text
    base = authorize_url.split("/oauth/authorize")[0]
    answer = requests.post(
        base + "/oauth/authorize/decision",
        data={
            "decision": decision,
            "redirect_uri": params["redirect_uri"],
            "state": params.get("state", ""),
        },
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302
    return answer.headers["Location"]


def callback_path(callback_url: str) -> str:
    """The path and query of a callback URL, for Django's test client."""
    parts = urlsplit(callback_url)
    return f"{parts.path}?{parts.query}"


def journey(client, team, site=None, decision: str = "allow"):
    """Start, decide at the stand-in and come back: the callback response, and its URL."""
    response = start(client, team, site)
    assert response.status_code == 302, response.content
    url = decide(response["Location"], decision)
    return client.get(callback_path(url)), url
