"""One error body for every 4xx of the REST API: ``{"status", "code", "detail", "fields"}``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView, set_rollback

#: ``code`` values an error body may carry (DRF's own codes, plus ``invalid`` for bad input).
ERROR_CODES = [
    "invalid",
    "parse_error",
    "not_authenticated",
    "authentication_failed",
    "permission_denied",
    "not_found",
    "method_not_allowed",
    "not_acceptable",
    "unsupported_media_type",
    "conflict",
    "throttled",
    "error",
]


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx answer of the API."""

    status = serializers.IntegerField(help_text="The HTTP status code, repeated.")
    code = serializers.ChoiceField(
        choices=ERROR_CODES, help_text="What went wrong, for programs (stable)."
    )
    detail = serializers.CharField(help_text="What went wrong and what to do, for people.")
    # DRF's metaclass takes declared fields out of the class: this does not hide ``.fields``.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text=(
            "For invalid input: the messages of each field (``non_field_errors`` for the "
            "input as a whole; nested fields joined with dots). Empty otherwise."
        ),
    )


class Conflict(exceptions.APIException):
    """The request is valid but the object's state does not allow it (409)."""

    status_code = 409
    default_detail = "The object's current state does not allow this."
    default_code = "conflict"


def _messages(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(item) for item in value if not isinstance(item, dict | list)]
    return [str(value)]


def _flatten(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as flat ``{"a.b": [messages]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                flat.update(_flatten(value, name))
            elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
                for index, item in enumerate(value):
                    if isinstance(item, dict | list):
                        flat.update(_flatten(item, f"{name}.{index}"))
                    elif item:
                        flat.setdefault(name, []).append(str(item))
            else:
                flat[name] = _messages(value)
    elif isinstance(errors, list):
        for item in errors:
            if isinstance(item, dict):
                flat.update(_flatten(item, prefix))
            else:
                flat.setdefault(prefix or "non_field_errors", []).append(str(item))
    else:
        flat[prefix or "non_field_errors"] = [str(errors)]
    return flat


def error_body(status: int, code: str, detail: str, fields: dict | None = None) -> dict:
    """An error body in the API's one shape."""
    return {"status": status, "code": code, "detail": detail, "fields": fields or {}}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's exception handling with every 4xx answered in the one shape (``ErrorSerializer``)."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args[:1])
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's 500 handling (and error reports) take over
    headers = {}
    if auth_header := getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = auth_header
    if wait := getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(wait))
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        detail = "The input is not valid: see fields."
        code = "invalid"
    else:
        fields = {}
        detail = str(exc.detail) if not isinstance(exc.detail, dict | list) else "Error."
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
    if code not in ERROR_CODES:
        code = "error"
    set_rollback()
    body = error_body(exc.status_code, code, detail, fields)
    return Response(body, status=exc.status_code, headers=headers)


class ErrorShapeMixin:
    """Views whose errors use the API's one shape whatever the host's ``EXCEPTION_HANDLER``."""

    def get_exception_handler(self):
        return exception_handler


class NotFoundView(ErrorShapeMixin, APIView):
    """Any other path under the API: a 404 in the error shape, for every method."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def initial(self, request, *args, **kwargs):
        raise exceptions.NotFound("No such API endpoint: see the schema at the API's schema/.")
