"""drf-spectacular settings of the API's schema and docs; importable from a settings module."""

from .. import __version__

#: drf-spectacular settings of the API's schema and docs, applied on top of the host's
#: ``SPECTACULAR_SETTINGS`` by the schema and docs views (and by
#: ``manage.py spectacular --custom-settings bento_stripe.api.schema_settings.SCHEMA_SETTINGS``).
SCHEMA_SETTINGS = {
    "TITLE": "bento-stripe API",
    "DESCRIPTION": (
        "Teams, sites, Stripe connections, their recorded Stripe events and the people "
        "whose money reaches Bento. Every object is scoped to the teams of the user the "
        "request acts as (session or API token): another team's object is a 404; members "
        "read, owners and admins write (403 otherwise). Every 4xx has the `Error` body."
    ),
    "VERSION": __version__,
    "PREPROCESSING_HOOKS": ["bento_stripe.api.schema.only_this_api"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "bento_stripe.api.schema.query_parameters",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ConnectionStatusEnum": "bento_stripe.models.StripeAccount.Status",
        "EventStatusEnum": "bento_stripe.models.StripeEventRecord.Status",
        "DeliveryStatusEnum": "bento_stripe.models.OutboxEvent.Status",
        "ConnectionKindEnum": "bento_stripe.models.StripeAccount.Kind",
        "DeliveryKindEnum": "bento_stripe.models.OutboxEvent.Kind",
        "ErrorCodeEnum": "bento_stripe.api.errors.ERROR_CODES",
    },
    # Swagger UI from drf-spectacular-sidecar's static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
