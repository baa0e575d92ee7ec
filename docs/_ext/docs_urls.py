"""The URLs the docs build mounts (the REST API at ``/api/``, as the install steps say), so
that the OpenAPI schema generated for the docs has the paths a project serves."""

from django.urls import include, path

urlpatterns = [path("api/", include("bento_stripe.api.urls"))]
