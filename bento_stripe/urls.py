"""URLs of bento-stripe: ``path("", include("bento_stripe.urls"))`` in the host's URLconf."""

app_name = "bento_stripe"

urlpatterns: list = []
