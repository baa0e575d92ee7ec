"""Backend lookup: ``BENTO_STRIPE['BACKEND']`` as a short name or a dotted path."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ...conf import BACKEND_ALIASES, app_settings
from .base import BaseBackend


def backend_path(name: str | None = None) -> str:
    """The dotted path of ``name`` (default: the configured backend)."""
    name = name or app_settings.BACKEND
    return BACKEND_ALIASES.get(name, name)


def get_backend_class(name: str | None = None) -> type[BaseBackend]:
    """The backend class, or ImproperlyConfigured naming ``BENTO_STRIPE['BACKEND']``."""
    path = backend_path(name)
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"settings.BENTO_STRIPE['BACKEND'] = {path!r} cannot be imported ({exc}): use one of "
            f"{', '.join(sorted(BACKEND_ALIASES))} or a dotted path to a BaseBackend subclass."
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, BaseBackend)):
        raise ImproperlyConfigured(
            f"settings.BENTO_STRIPE['BACKEND'] = {path!r} is not a subclass of "
            "bento_stripe.bento.backends.base.BaseBackend."
        )
    return cls


def get_backend(name: str | None = None, **kwargs) -> BaseBackend:
    """A backend instance (cheap: the HTTP session is pooled per process, not per instance)."""
    return get_backend_class(name)(**kwargs)


__all__ = ["BaseBackend", "backend_path", "get_backend", "get_backend_class"]
