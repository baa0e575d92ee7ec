"""Authentication of the REST API: the session (pages) and API tokens (scripts)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication


class TokenAuthentication(KnoxTokenAuthentication):
    """``Authorization: Token <token>`` with a token made on the API tokens page or the admin.

    django-rest-knox keeps only a SHA-512 digest of each token. A header that is not
    UTF-8 is refused like any wrong token (401), never a server error.
    """

    def authenticate_credentials(self, token: bytes):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        return super().authenticate_credentials(token)


#: The API's authentication, in order: a token header first (so a request without
#: credentials gets 401 with ``WWW-Authenticate: Token``), then the session (CSRF on writes).
AUTHENTICATION_CLASSES = [TokenAuthentication, SessionAuthentication]


class TokenScheme(OpenApiAuthenticationExtension):
    """The token scheme in the OpenAPI schema."""

    target_class = "bento_stripe.api.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "An API token made on the account's API tokens page (or in the admin), "
                'sent as "Token <token>". It acts as its user, in that user\'s teams.'
            ),
        }
