"""System check E029: each value of ``BENTO_STRIPE`` has the type its key is declared with.

The app reads settings as given (``conf.AppSettings`` declares each key's type and converts
nothing), so a number written as a string, or a list where one string is expected, is
named here at startup instead of failing where it is first used.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from functools import cache
from typing import Any, Union, get_args, get_origin, get_type_hints

from django.apps import AppConfig
from django.conf import settings
from django.core import checks

from ..conf import DEFAULTS, AppSettings


@cache
def declared_types() -> dict[str, Any]:
    """Each key of ``DEFAULTS`` and the type ``AppSettings`` declares for it."""
    hints = get_type_hints(AppSettings)
    return {key: hints[key] for key in DEFAULTS if key in hints}


def fits(value: Any, expected: Any) -> bool:
    """Whether ``value`` is of the declared type ``expected`` (an int is a float too; a bool
    is not a number)."""
    origin = get_origin(expected)
    if origin in (Union, types.UnionType):
        return any(fits(value, arg) for arg in get_args(expected))
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is None:
        return isinstance(value, expected)
    if not isinstance(value, origin):
        return False
    args = get_args(expected)
    if origin is list:
        return all(fits(item, args[0]) for item in value)
    if origin is dict:
        return all(fits(k, args[0]) and fits(v, args[1]) for k, v in value.items())
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return all(fits(item, args[0]) for item in value)
        return len(value) == len(args) and all(fits(v, a) for v, a in zip(value, args, strict=True))
    return True


def describe(expected: Any) -> str:
    """A declared type as the settings reference writes it (``int``, ``list[str] | str``)."""
    return expected.__name__ if isinstance(expected, type) else str(expected)


@checks.register()
def check_setting_types(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E029: a value of ``BENTO_STRIPE`` whose type is not the one its key is declared with."""
    given = getattr(settings, "BENTO_STRIPE", None)
    if not isinstance(given, dict):
        return []
    messages: list[checks.CheckMessage] = []
    for key, expected in declared_types().items():
        if key in given and not fits(given[key], expected):
            messages.append(
                checks.Error(
                    f"settings.BENTO_STRIPE[{key!r}] is {type(given[key]).__name__} "
                    f"{given[key]!r}, not {describe(expected)}.",
                    hint="The app uses the value as given; write it with its type "
                    "(numbers read from the environment need int() or float()).",
                    id="bento_stripe.E029",
                )
            )
    return messages
