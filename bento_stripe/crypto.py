"""Encryption at rest for secrets, with key rotation (Fernet / MultiFernet)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from .conf import app_settings
from .exceptions import EncryptionKeyError

#: Every stored ciphertext starts with this marker, so plain text is never mistaken for one.
PREFIX = "fernet:"


def derived_debug_key() -> bytes:
    """A Fernet key derived from SECRET_KEY: for DEBUG only, where no key was configured."""
    digest = hashlib.sha256(b"bento-stripe:" + settings.SECRET_KEY.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def configured_keys() -> list[str]:
    """The keys of ``BENTO_STRIPE['ENCRYPTION_KEYS']``, accepting a comma-separated string."""
    keys = app_settings.ENCRYPTION_KEYS
    if isinstance(keys, str):
        keys = keys.split(",")
    return [k.strip() for k in keys if k and k.strip()]


def _fernet() -> MultiFernet:
    keys = configured_keys()
    if not keys:
        if not settings.DEBUG:
            raise EncryptionKeyError(
                "settings.BENTO_STRIPE['ENCRYPTION_KEYS'] is empty: set it to one or more "
                "Fernet keys (python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')."
            )
        return MultiFernet([Fernet(derived_debug_key())])
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except (ValueError, TypeError) as exc:
        raise EncryptionKeyError(
            "settings.BENTO_STRIPE['ENCRYPTION_KEYS'] holds a value that is not a Fernet key "
            "(32 url-safe base64-encoded bytes)."
        ) from exc


@sensitive_variables("plaintext")
def encrypt(plaintext: str) -> str:
    """Encrypt ``plaintext`` with the first configured key."""
    token = _fernet().encrypt(plaintext.encode("utf-8"))
    return PREFIX + token.decode("ascii")


def decrypt(stored: str, *, label: str = "a secret") -> str:
    """Decrypt a value written by :func:`encrypt` with any configured key."""
    if not stored.startswith(PREFIX):
        raise EncryptionKeyError(f"{label} is not stored encrypted: re-save it to encrypt it.")
    try:
        return _fernet().decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise EncryptionKeyError(
            f"Cannot decrypt {label}: none of settings.BENTO_STRIPE['ENCRYPTION_KEYS'] is the "
            "key it was encrypted with. Add that key (after the current one), then run "
            "manage.py bento_stripe_rotate_keys."
        ) from exc


def under_first_key(stored: str) -> bool:
    """Whether ``stored`` is encrypted with the first (current) key."""
    first = _fernet()._fernets[0]
    try:
        first.decrypt(stored[len(PREFIX) :].encode("ascii"))
    except InvalidToken:
        return False
    return True


def rotate(stored: str) -> str:
    """Re-encrypt a stored value with the first (current) key."""
    return PREFIX + _fernet().rotate(stored[len(PREFIX) :].encode("ascii")).decode("ascii")


def mask(secret: str | None) -> str:
    """A form of ``secret`` safe to show: its last four characters at most."""
    if not secret:
        return ""
    tail = secret[-4:] if len(secret) >= 12 else ""
    return "••••••••" + tail
