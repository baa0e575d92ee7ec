"""URLs of bento-stripe: ``path("", include("bento_stripe.urls"))`` in the host's URLconf."""

from django.urls import include, path

app_name = "bento_stripe"

urlpatterns: list = [
    path("", include("bento_stripe.webhooks.urls")),
]
