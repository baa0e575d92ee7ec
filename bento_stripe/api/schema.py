"""The API's OpenAPI 3 schema (drf-spectacular) and its docs page (Swagger UI from local files)."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.settings import patched_settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from .errors import ErrorSerializer, ErrorShapeMixin
from .schema_settings import SCHEMA_SETTINGS

#: Which error statuses an operation documents, and what each means here.
ERRORS = {
    400: "Invalid input (a query parameter, the body, or JSON that does not parse).",
    401: "No credentials, or a wrong, expired or revoked API token.",
    403: "Not allowed: a plain member writing, or a session write without its CSRF token.",
    404: "No such object in the user's teams (another team's objects are 404 too).",
    405: "The method is not allowed here.",
    406: "The Accept header asks for a format the API does not offer.",
    409: "The object's state does not allow the action.",
    415: "The body is not JSON (Content-Type: application/json).",
}


def only_this_api(endpoints):
    """Keep the endpoints of this API (a host's own API, and the schema, docs and catch-all
    views, stay out of this schema): the views that describe themselves with ``ApiSchema``."""
    return [
        (path, regex, method, callback)
        for path, regex, method, callback in endpoints
        if isinstance(getattr(getattr(callback, "cls", None), "schema", None), ApiSchema)
    ]


def query_parameters(result, generator, request, public):
    """Say how query parameters are read, where OpenAPI's defaults would say otherwise.

    An empty optional parameter (``?team=``) means "not given", as django-filter and the
    pagination read it (and HTML forms send it); free text holds no NUL character
    (Django's forms refuse it: a 400).
    """
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") != "query":
                    continue
                if not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
                schema = parameter.get("schema", {})
                if schema.get("type") == "string" and not ({"enum", "format"} & set(schema)):
                    parameter["schema"] = {**schema, "pattern": NO_NUL}
    return result


#: A string without NUL characters (JSON Schema pattern).
NO_NUL = "^[^\\x00]*$"


class ApiSchema(AutoSchema):
    """drf-spectacular's inference, plus the error responses every operation can give."""

    #: Extra error statuses of an operation (``@extend_schema`` cannot add to the defaults).
    extra_errors: tuple[int, ...] = ()

    def error_statuses(self) -> list[int]:
        statuses = {400, 401, 403, 404, 405, 406}
        if self.method in ("POST", "PUT", "PATCH"):
            statuses.add(415)
        statuses |= set(getattr(self.view, "extra_errors", ()))
        return sorted(statuses)

    def _get_response_bodies(self, direction="response"):
        # Here rather than in get_response_serializers, which @extend_schema(responses=...)
        # replaces outright.
        responses = super()._get_response_bodies(direction)
        for status in self.error_statuses():
            responses.setdefault(
                str(status),
                self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, ERRORS[status]), str(status)
                ),
            )
        return responses


def api_schema(**kwargs):
    """``@extend_schema`` for a view method, on top of ``ApiSchema``.

    drf-spectacular builds a method's schema on the host's ``DEFAULT_SCHEMA_CLASS``
    unless the method names its own; this names ``ApiSchema`` so the error responses
    are there whatever the host's settings.
    """

    def decorator(method):
        if getattr(method, "schema", None) is None:
            method.schema = ApiSchema
        return extend_schema(**kwargs)(method)

    return decorator


class SchemaView(ErrorShapeMixin, SpectacularAPIView):
    """``GET schema/``: the OpenAPI 3 schema of this API (YAML; ``?format=json`` for JSON)."""

    custom_settings = SCHEMA_SETTINGS
    authentication_classes: list = []
    permission_classes: list = []


class DocsView(ErrorShapeMixin, SpectacularSwaggerView):
    """``GET docs/``: Swagger UI over the schema, served from local static files."""

    url_name = "bento_stripe_api:schema"
    title = str(SCHEMA_SETTINGS["TITLE"])
    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request, *args, **kwargs):
        with patched_settings(SCHEMA_SETTINGS):
            return super().get(request, *args, **kwargs)
