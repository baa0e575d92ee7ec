"""URL of the Connect webhook endpoint (dj-stripe's shape: ``stripe/webhook/<uuid>/``)."""

from django.urls import path

from .views import stripe_webhook

urlpatterns = [
    path("stripe/webhook/<uuid:uuid>/", stripe_webhook, name="webhook"),
]
