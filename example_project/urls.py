"""URLs of the example project."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/account/teams/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/", include("bento_stripe.api.urls")),
    path("", include("bento_stripe.urls")),
]
