"""``manage.py bento_stripe_endpoint``: local and at Stripe (against the local stand-in)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from djstripe.models import WebhookEndpoint

from bento_stripe.models import StripeEventRecord
from bento_stripe.translators.registry import registry

from .stripe_events import load, post

pytestmark = pytest.mark.django_db

SECRET = "whsec_command_test_secret_0123456789"


def run(*args) -> str:
    out = StringIO()
    call_command("bento_stripe_endpoint", *args, stdout=out)
    return out.getvalue()


def stored_secret(endpoint) -> str:
    return WebhookEndpoint.objects.filter(pk=endpoint.pk).values_list("secret", flat=True)[0]


def test_local_endpoint_json_and_receiving(client, account, no_lookup):
    output = json.loads(
        run("--url", "https://app.example.com/", "--local", "--secret", SECRET, "--json")
    )
    endpoint = WebhookEndpoint.objects.get()
    assert output["id"] == endpoint.id and endpoint.id.startswith("we_local_")
    assert output["path"] == f"/stripe/webhook/{endpoint.djstripe_uuid}/"
    assert output["url"] == "https://app.example.com" + output["path"]
    assert stored_secret(endpoint).startswith("fernet:") and SECRET not in stored_secret(endpoint)
    assert set(endpoint.enabled_events) == set(registry.handled_types())
    response = post(client, endpoint, load("customer_created"), secret=SECRET)
    assert response.status_code == 200
    assert StripeEventRecord.objects.count() == 1


def test_running_twice_keeps_one_endpoint_and_can_rotate_the_secret(client, account, no_lookup):
    first = json.loads(
        run("--url", "https://app.example.com", "--local", "--secret", SECRET, "--json")
    )
    again = json.loads(run("--url", "https://app.example.com", "--local", "--json"))
    assert first == again and WebhookEndpoint.objects.count() == 1
    run("--url", "https://app.example.com", "--local", "--secret", "whsec_rotated")
    endpoint = WebhookEndpoint.objects.get()
    assert post(client, endpoint, load("customer_created"), secret=SECRET).status_code == 400
    assert (
        post(client, endpoint, load("customer_created"), secret="whsec_rotated").status_code == 200
    )


def test_plain_output_prints_the_path():
    text = run("--url", "http://localhost:8000", "--local", "--secret", SECRET)
    endpoint = WebhookEndpoint.objects.get()
    assert f"Receiving path: /stripe/webhook/{endpoint.djstripe_uuid}/" in text
    assert SECRET not in text


@pytest.mark.parametrize(
    "args",
    [
        ["--url", "app.example.com", "--local", "--secret", SECRET],
        ["--url", "https://a.example", "--local"],  # a new local endpoint needs its secret
        ["--url", "https://a.example", "--local", "--secret", "not-a-secret"],
        ["--url", "https://a.example", "--secret", SECRET],  # Stripe makes the secret itself
    ],
)
def test_bad_arguments_are_errors(args):
    with pytest.raises(CommandError):
        run(*args)
    assert WebhookEndpoint.objects.count() == 0


def test_endpoint_at_stripe_is_connect_with_the_handled_events(stripe_api):
    output = json.loads(run("--url", "https://app.example.com", "--json"))
    (request,) = stripe_api.requests
    form = dict(request["form"])
    assert request["path"] == "/v1/webhook_endpoints"
    assert request["authorization"] == "Bearer sk_test_platform_key_for_tests"
    assert form["connect"] == "true"
    assert form["url"] == output["url"]
    events = [v for k, v in request["form"] if k.startswith("enabled_events[")]
    assert events == registry.handled_types()
    endpoint = WebhookEndpoint.objects.get()
    assert output["id"] == endpoint.id == "we_1StandIn0001"
    assert form["metadata[djstripe_uuid]"] == str(endpoint.djstripe_uuid)
    assert stored_secret(endpoint).startswith("fernet:")
    assert "whsec_from_stripe_standin" not in stored_secret(endpoint)
    # Again: the endpoint exists, Stripe is not asked twice.
    assert json.loads(run("--url", "https://app.example.com", "--json")) == output
    assert len(stripe_api.requests) == 1


def test_stripe_debug_logs_of_the_endpoint_creation_carry_no_signing_secret(stripe_api, caplog):
    import logging

    stripe_logger = logging.getLogger("stripe")
    for f in [f for f in stripe_logger.filters if type(f).__name__ == "RedactingFilter"]:
        stripe_logger.removeFilter(f)  # as in a fresh process: no OAuth call installed it
    caplog.set_level(logging.DEBUG, logger="stripe")
    run("--url", "https://app.example.com", "--json")
    bodies = [r.getMessage() for r in caplog.records if r.name == "stripe"]
    assert any("we_1StandIn0001" in text for text in bodies)  # the response body was logged
    assert not any("whsec_from_stripe_standin" in text for text in bodies)
    assert not any("sk_test_platform_key" in text for text in bodies)


# --- --local never touches an endpoint that Stripe made ------------------------------------


def test_local_never_replaces_the_secret_of_an_endpoint_stripe_made(stripe_api):
    run("--url", "https://app.example.com")
    endpoint = WebhookEndpoint.objects.get()
    before = stored_secret(endpoint)
    for mode in ([], ["--livemode"]):
        with pytest.raises(CommandError, match="Stripe made the endpoint we_1StandIn0001"):
            run("--url", "https://app.example.com", "--local", "--secret", SECRET, *mode)
    assert WebhookEndpoint.objects.count() == 1
    assert stored_secret(WebhookEndpoint.objects.get()) == before


def test_simulate_refuses_a_url_whose_endpoint_stripe_made(stripe_api):
    from bento_stripe.models import StripeAccount

    run("--url", "http://127.0.0.1:8000")
    before = stored_secret(WebhookEndpoint.objects.get())
    for extra in ([], ["--secret", SECRET]):
        with pytest.raises(CommandError, match="that Stripe made"):
            call_command("bento_stripe_simulate", "--url", "http://127.0.0.1:8000", *extra)
    assert stored_secret(WebhookEndpoint.objects.get()) == before
    assert WebhookEndpoint.objects.count() == 1
    assert not StripeAccount.objects.exists()  # not even the demo connection was made


def test_local_endpoints_of_other_urls_still_work_beside_stripes(stripe_api):
    run("--url", "https://app.example.com")
    output = json.loads(
        run("--url", "http://localhost:8000", "--local", "--secret", SECRET, "--json")
    )
    assert output["id"].startswith("we_local_")
    assert WebhookEndpoint.objects.count() == 2
