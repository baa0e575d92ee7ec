"""Bento backends: the HTTP client against the real stand-in server, console, locmem, signal."""

from __future__ import annotations

import io
import os

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from bento_stripe import __version__, bento, signals
from bento_stripe.bento import get_backend
from bento_stripe.bento.backends import http as http_backend
from bento_stripe.bento.backends.console import ConsoleBackend
from bento_stripe.bento.backends.http import HttpBackend
from bento_stripe.bento.backends.locmem import LocmemBackend
from bento_stripe.bento.backends.signal import SignalBackend
from bento_stripe.bento.client import error_message, parse_retry_after
from bento_stripe.checks import check_backend
from bento_stripe.conf import app_settings
from bento_stripe.exceptions import BentoRejectedError, BentoRetryableError
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db

EVENT = {
    "type": "$ChargeSucceeded",
    "email": "jane@example.com",
    "date": "2026-11-28T10:00:00Z",
    "fields": {"lifetime_value": 49.0, "currency": "USD"},
    "details": {"stripe_event_id": "evt_1", "unique": {"key": "ch_1"}},
}


@pytest.fixture
def site(server):
    site = SiteFactory()
    server.add_site(site)
    return site


def _settings(server, **extra):
    return override_settings(
        BENTO_STRIPE={**_base(), "API_URL": server.url, "BACKEND": "http", **extra}
    )


def _base():
    from django.conf import settings

    return dict(settings.BENTO_STRIPE)


def test_http_backend_sends_auth_site_uuid_user_agent_and_body(server, site):
    with _settings(server):
        answer = HttpBackend().send(site, "batch/events", {"events": [EVENT]})
    assert answer == {"results": 1}
    (request,) = server.requests
    assert request.status == 200
    assert request.site_uuid == site.bento_site_uuid
    assert request.user_agent == f"bento-stripe/{__version__}"
    assert request.body == {"events": [EVENT]}
    assert server.events(site.bento_site_uuid) == [EVENT]
    assert server.bento(site.bento_site_uuid).subscribers["jane@example.com"]["currency"] == "USD"


def test_wrong_secret_is_rejected_with_bentos_message(server, site):
    server.sites[site.bento_site_uuid] = (site.bento_publishable_key, "another-secret")
    with _settings(server), pytest.raises(BentoRejectedError) as caught:
        HttpBackend().send(site, "batch/events", {"events": [EVENT]})
    assert caught.value.status == 401
    assert "Invalid publishable or secret key" in caught.value.message
    assert site.bento_secret_key not in caught.value.message


def test_400_error_body_is_parsed_and_not_retryable(server, site):
    server.fail(status=400, body={"error": "Email jane@ is invalid"})
    with _settings(server), pytest.raises(BentoRejectedError) as caught:
        HttpBackend().send(site, "batch/events", {"events": [EVENT]})
    assert caught.value.message == "Bento answered 400 Bad Request: Email jane@ is invalid"


def test_422_errors_list_is_joined(server, site):
    bad = {**EVENT, "type": ""}
    with _settings(server), pytest.raises(BentoRejectedError) as caught:
        HttpBackend().send(site, "batch/events", {"events": [bad]})
    assert caught.value.status == 422
    assert "event 0 has no type" in caught.value.message


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [(503, None, None), (503, "7", 7.0), (429, "12", 12.0), (429, None, None)],
)
def test_429_and_5xx_are_retryable_with_retry_after(server, site, status, retry_after, expected):
    server.fail(status=status, retry_after=retry_after)
    with _settings(server), pytest.raises(BentoRetryableError) as caught:
        HttpBackend().send(site, "batch/events", {"events": [EVENT]})
    assert caught.value.status == status
    assert caught.value.retry_after == expected


def test_timeout_is_retryable(server, site):
    server.fail(delay=1.0)
    with _settings(server, HTTP_TIMEOUT=(2.0, 0.2)), pytest.raises(BentoRetryableError) as caught:
        HttpBackend().send(site, "batch/events", {"events": [EVENT]})
    assert "in time" in caught.value.message


def test_connection_refused_is_retryable(server, site):
    server.stop()
    with _settings(server), pytest.raises(BentoRetryableError) as caught:
        HttpBackend().send(site, "batch/events", {"events": [EVENT]})
    assert "Could not reach Bento" in caught.value.message


def test_site_without_keys_fails_with_a_clear_message(server):
    site = SiteFactory(name="Acme", bento_secret_key="")
    with _settings(server), pytest.raises(BentoRejectedError) as caught:
        HttpBackend().send(site, "batch/events", {"events": [EVENT]})
    assert "Site 'Acme' has no Bento secret key" in caught.value.message
    assert server.requests == []


def test_one_pooled_session_per_process(monkeypatch):
    first = http_backend.session()
    assert http_backend.session() is first
    assert first.headers["User-Agent"].startswith("bento-stripe/")
    monkeypatch.setattr(os, "getpid", lambda: -1)
    assert http_backend.session() is not first


def test_body_over_1000_items_is_refused_before_sending(server, site):
    with _settings(server), pytest.raises(ValueError, match="1 to 1000"):
        HttpBackend().send(site, "batch/events", {"events": [EVENT] * 1001})
    assert server.requests == []


def test_console_backend_prints_events_with_fields(site):
    stream = io.StringIO()
    ConsoleBackend(stream=stream).send(site, "batch/events", {"events": [EVENT]})
    text = stream.getvalue()
    assert f"POST /batch/events?site_uuid={site.bento_site_uuid}" in text
    assert '"lifetime_value": 49.0' in text
    assert "$ChargeSucceeded" in text


def test_locmem_backend_keeps_a_copy(site):
    bento.outbox.clear()
    body = {"subscribers": [{"email": "a@example.com", "mrr": 5}]}
    LocmemBackend().send(site, "batch/subscribers", body)
    body["subscribers"][0]["mrr"] = 99
    (sent,) = bento.outbox
    assert (sent.site_id, sent.endpoint) == (site.pk, "batch/subscribers")
    assert sent.items == [{"email": "a@example.com", "mrr": 5}]
    bento.outbox.clear()


def test_signal_backend_sends_one_signal_per_batch(site):
    seen = []

    def receiver(sender, site, endpoint, body, **kwargs):
        seen.append((site.pk, endpoint, body))

    signals.bento_batch.connect(receiver)
    try:
        answer = SignalBackend().send(
            site, "fetch/commands", {"command": [{"command": "x", "email": "a@b.c"}]}
        )
    finally:
        signals.bento_batch.disconnect(receiver)
    assert seen == [(site.pk, "fetch/commands", {"command": [{"command": "x", "email": "a@b.c"}]})]
    assert answer["results"] == 1


def test_get_backend_resolves_short_names_and_dotted_paths():
    assert isinstance(get_backend("console"), ConsoleBackend)
    assert isinstance(
        get_backend("bento_stripe.bento.backends.locmem.LocmemBackend"), LocmemBackend
    )
    assert isinstance(get_backend(), LocmemBackend)  # tests/settings.py says locmem
    with pytest.raises(ImproperlyConfigured, match="BACKEND"):
        get_backend("nope.Nothing")
    with pytest.raises(ImproperlyConfigured, match="BaseBackend"):
        get_backend("bento_stripe.conf.AppSettings")


def test_check_e005_flags_a_backend_that_does_not_resolve():
    assert check_backend() == []
    with override_settings(BENTO_STRIPE={**_base(), "BACKEND": "smtp"}):
        (error,) = check_backend()
    assert error.id == "bento_stripe.E005"
    assert "BENTO_STRIPE['BACKEND']" in error.msg
    assert app_settings.BACKEND == "locmem"


def test_retry_after_and_error_message_parsing():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("garbage") is None
    assert 0 <= parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert error_message(500, "Server Error", b"<html>oops</html>").endswith("<html>oops</html>")
    assert error_message(400, "Bad Request", b'{"errors": ["a", "b"]}').endswith("a; b")
