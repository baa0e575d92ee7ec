"""App configuration of the host stand-in."""

from django.apps import AppConfig


class SwappedAppConfig(AppConfig):
    name = "tests.swapped_app"
    label = "swapped_app"
    default_auto_field = "django.db.models.BigAutoField"
