"""``manage.py bento_stripe_rotate_keys``: every encrypted value moves under the first key."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from djstripe.models import WebhookEndpoint, WebhookEventTrigger

from bento_stripe.models import Site, StripeAccount, StripeEventRecord
from bento_stripe.webhooks.endpoints import ensure_local
from tests.factories import SiteFactory, StripeAccountFactory

from .stripe_events import SECRET, load, post

pytestmark = pytest.mark.django_db

KEY_A, KEY_B = settings.TEST_ENCRYPTION_KEYS


def keys(*values):
    return override_settings(
        BENTO_STRIPE={**settings.BENTO_STRIPE, "ENCRYPTION_KEYS": list(values)}
    )


def raw(model, column: str, pk) -> str:
    """A column as stored (the field would decrypt it on the way out)."""
    opts = model._meta
    quote = connection.ops.quote_name
    table, key = quote(opts.db_table), quote(opts.pk.column)
    sql = f"SELECT {quote(column)} FROM {table} WHERE {key} = %s"  # noqa: S608 - model names
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        return cursor.fetchone()[0]


def rotate(*args) -> str:
    out = StringIO()
    call_command("bento_stripe_rotate_keys", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def under_old_key():
    """A site key, an access token and a webhook endpoint secret, all under KEY_A."""
    with keys(KEY_A):
        site = SiteFactory(bento_secret_key="sk_bento_rotate_me_0001")
        account = StripeAccountFactory(site=site, access_token="sk_test_token_rotate_0001")
        endpoint = ensure_local("http://testserver", SECRET)
    return site, account, endpoint


def test_every_encrypted_value_moves_under_the_first_key(under_old_key, client):
    site, account, endpoint = under_old_key
    before = raw(WebhookEndpoint, "secret", endpoint.pk)
    with keys(KEY_B, KEY_A):
        output = rotate()
    assert "bento_stripe.Site.bento_secret_key: re-encrypted 1 (1 under an older key)" in output
    assert (
        "bento_stripe.StripeAccount.access_token: re-encrypted 1 (1 under an older key)" in output
    )
    assert "djstripe.WebhookEndpoint.secret: re-encrypted 1 (1 under an older key)" in output
    assert "Total: re-encrypted 3, undecryptable 0." in output
    after = raw(WebhookEndpoint, "secret", endpoint.pk)
    assert after != before and after.startswith("fernet:") and SECRET not in after
    with keys(KEY_B):  # the old key is gone: everything still reads, webhooks verify
        assert Site.objects.get(pk=site.pk).bento_secret_key == "sk_bento_rotate_me_0001"
        assert StripeAccount.objects.get(pk=account.pk).access_token == "sk_test_token_rotate_0001"
        StripeAccountFactory(site=site, stripe_user_id="acct_1BentoTestShop01", livemode=False)
        assert post(client, endpoint, load("customer_created")).status_code == 200
        again = rotate()  # idempotent: nothing is left under an older key
    assert "Total: re-encrypted 3, undecryptable 0." in again
    assert "(1 under an older key)" not in again


def test_a_dry_run_counts_and_writes_nothing(under_old_key):
    site, _, endpoint = under_old_key
    stored = raw(Site, "bento_secret_key", site.pk)
    with keys(KEY_B, KEY_A):
        output = rotate("--dry-run")
    assert "would re-encrypt 1 (1 under an older key)" in output
    assert raw(Site, "bento_secret_key", site.pk) == stored


def test_values_under_a_removed_key_are_reported_and_kept(under_old_key):
    site, _, _ = under_old_key
    stored = raw(Site, "bento_secret_key", site.pk)
    with keys(KEY_B), pytest.raises(CommandError, match="could not be decrypted"):
        rotate()
    assert raw(Site, "bento_secret_key", site.pk) == stored


def test_the_webhook_with_an_undecryptable_secret_answers_503_in_one_line(
    under_old_key, client, caplog
):
    _, _, endpoint = under_old_key
    caplog.set_level("DEBUG")
    with keys(KEY_B):
        response = post(client, endpoint, load("customer_created"))
    assert response.status_code == 503  # Stripe retries; once the key is back they verify
    assert not StripeEventRecord.objects.exists()
    problems = [r for r in caplog.records if r.levelno >= 30]
    assert len(problems) == 1
    (record,) = problems
    assert record.levelname == "ERROR" and record.exc_info is None
    assert "BENTO_STRIPE['ENCRYPTION_KEYS']" in record.getMessage()
    assert str(endpoint.djstripe_uuid) in record.getMessage()
    trigger = WebhookEventTrigger.objects.get()  # what the admin shows
    assert trigger.valid is False and "ENCRYPTION_KEYS" in trigger.exception
    with keys(KEY_B, KEY_A):  # the key is back: Stripe's retry goes through
        StripeAccountFactory(stripe_user_id="acct_1BentoTestShop01", livemode=False)
        assert post(client, endpoint, load("customer_created")).status_code == 200
