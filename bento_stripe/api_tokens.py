"""API tokens for scripts (django-rest-knox): made and revoked by their user, or in the admin.

Only a SHA-512 digest of each token is stored; the token itself is shown once, when made.
A token acts as its user, so it reaches exactly the teams that user's session reaches.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables
from knox.models import AuthToken

from .redaction import Masked

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django_stubs_ext import StrOrPromise

#: Lifetimes offered when a token is made: (days or None for no expiry, label).
LIFETIMES: list[tuple[int | None, StrOrPromise]] = [
    (30, _("30 days")),
    (90, _("90 days")),
    (365, _("1 year")),
    (None, _("No expiry")),
]


def tokens_of(user: AbstractBaseUser) -> QuerySet[AuthToken]:
    """The user's tokens, newest first (expired ones included until knox sweeps them)."""
    return AuthToken.objects.filter(user=user).order_by("-created", "token_key")


@sensitive_variables("token")
def create_token(user: AbstractBaseUser, *, days: int | None) -> tuple[AuthToken, Masked]:
    """A new token for ``user``, valid ``days`` days (None: until revoked); (row, the token).

    The token is returned once, as ``Masked`` (its repr hides it); only its digest is kept.
    """
    expiry = timedelta(days=days) if days is not None else None
    instance, token = AuthToken.objects.create(user=user, expiry=expiry)
    return instance, Masked(token)


def revoke_token(user: AbstractBaseUser, digest: str) -> bool:
    """Delete ``user``'s token with this digest (the row's key); whether it existed."""
    deleted, _rows = AuthToken.objects.filter(user=user, digest=digest).delete()
    return bool(deleted)
