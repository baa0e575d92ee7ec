"""URLs of bento-stripe: ``path("", include("bento_stripe.urls"))`` in the host's URLconf."""

from django.urls import include, path

from .views import accounts, backfill, connect, pages, token_pages

app_name = "bento_stripe"

urlpatterns = [
    path("", include("bento_stripe.webhooks.urls")),
    # Account pages (Stripe app install journey).
    path("account/apps/stripe/", pages.stripe_app, name="stripe_app"),
    path("account/teams/", pages.teams, name="teams"),
    path("account/api-tokens/", token_pages.api_tokens, name="api_tokens"),
    path(
        "account/api-tokens/<str:digest>/revoke/",
        token_pages.revoke_api_token,
        name="revoke_api_token",
    ),
    path(
        "account/teams/<int:team_id>/oauth/stripe_accounts/new",
        connect.connect_new,
        name="connect_new",
    ),
    path(
        "account/oauth/stripe_accounts/callback",
        connect.oauth_callback,
        name="oauth_callback",
    ),
    path(
        "account/teams/<int:team_id>/stripe_accounts/<int:pk>/",
        accounts.account_review,
        name="account_review",
    ),
    path(
        "account/teams/<int:team_id>/stripe_accounts/<int:pk>/backfill.json",
        backfill.backfill_state,
        name="account_backfill_state",
    ),
    path(
        "account/teams/<int:team_id>/stripe_accounts/<int:pk>/settings/",
        accounts.account_settings,
        name="account_settings",
    ),
    path(
        "account/teams/<int:team_id>/stripe_accounts/<int:pk>/reconnect/",
        connect.account_reconnect,
        name="account_reconnect",
    ),
    path(
        "account/teams/<int:team_id>/stripe_accounts/<int:pk>/disconnect/",
        accounts.account_disconnect,
        name="account_disconnect",
    ),
]
