"""URL of the Connect webhook endpoint (dj-stripe's shape: ``stripe/webhook/<uuid>/``)."""

from django.urls import path

from .health_views import health_view, metrics_view
from .views import stripe_webhook

urlpatterns = [
    path("stripe/webhook/<uuid:uuid>/", stripe_webhook, name="webhook"),
    # Operations, beside the webhook so every host that mounts it has them.
    path("stripe/health/", health_view, name="health"),
    path("stripe/metrics/", metrics_view, name="metrics"),
]
