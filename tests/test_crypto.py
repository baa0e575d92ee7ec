"""Secrets are stored as Fernet ciphertext and rotate between keys."""

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from bento_stripe import crypto
from bento_stripe.exceptions import EncryptionKeyError
from bento_stripe.models import Site
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db

KEY_A, KEY_B = settings.TEST_ENCRYPTION_KEYS


def keys(*values):
    return override_settings(
        BENTO_STRIPE={**settings.BENTO_STRIPE, "ENCRYPTION_KEYS": list(values)}
    )


def raw_secret(site_pk):
    with connection.cursor() as cursor:
        cursor.execute("SELECT bento_secret_key FROM bento_stripe_site WHERE id = %s", [site_pk])
        return cursor.fetchone()[0]


def test_secret_is_ciphertext_in_database_and_plain_in_python():
    site = SiteFactory(bento_secret_key="sk_bento_very_secret_value")
    stored = raw_secret(site.pk)
    assert stored.startswith("fernet:")
    assert "very_secret" not in stored
    assert Site.objects.get(pk=site.pk).bento_secret_key == "sk_bento_very_secret_value"


def test_key_rotation_old_key_still_decrypts_new_key_encrypts():
    with keys(KEY_A):
        site = SiteFactory(bento_secret_key="rotate-me-please")
    with keys(KEY_B, KEY_A):
        reloaded = Site.objects.get(pk=site.pk)
        assert reloaded.bento_secret_key == "rotate-me-please"
        reloaded.save()  # re-encrypts with KEY_B
    with keys(KEY_B):
        assert Site.objects.get(pk=site.pk).bento_secret_key == "rotate-me-please"
    with keys(KEY_A), pytest.raises(EncryptionKeyError):
        Site.objects.get(pk=site.pk)


def test_wrong_key_gives_clear_error():
    site = SiteFactory(bento_secret_key="abc")
    with keys(KEY_B), pytest.raises(EncryptionKeyError) as exc:
        Site.objects.get(pk=site.pk)
    assert "Site.bento_secret_key" in str(exc.value)
    assert "ENCRYPTION_KEYS" in str(exc.value)


def test_no_keys_outside_debug_refuses_to_encrypt():
    with keys(), override_settings(DEBUG=False), pytest.raises(EncryptionKeyError):
        crypto.encrypt("x")


def test_debug_without_keys_derives_a_key():
    with keys(), override_settings(DEBUG=True):
        assert crypto.decrypt(crypto.encrypt("x")) == "x"


def test_rotate_and_mask():
    with keys(KEY_A):
        token = crypto.encrypt("value")
    with keys(KEY_B, KEY_A):
        rotated = crypto.rotate(token)
    with keys(KEY_B):
        assert crypto.decrypt(rotated) == "value"
    assert crypto.mask("sk_live_1234567890abcd") == "••••••••abcd"
    assert crypto.mask("short") == "••••••••"
    assert crypto.mask("") == ""
