"""The typed settings object: every key of ``conf.DEFAULTS`` is declared on ``AppSettings``
with a type (so mypy checks each ``app_settings.KEY``), its default is of that type, and the
value is read from ``settings.BENTO_STRIPE`` on every access."""

from __future__ import annotations

import types
import typing

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from bento_stripe import conf


def _declared() -> dict[str, typing.Any]:
    hints = typing.get_type_hints(conf.AppSettings)
    return {name: hint for name, hint in hints.items() if name.isupper()}


def _conforms(value: object, hint: typing.Any) -> bool:
    """Whether ``value`` is of the type ``hint`` (the forms conf.py uses)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, arg) for arg in args)
    if origin is list:
        return isinstance(value, list) and all(_conforms(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(
            _conforms(k, args[0]) and _conforms(v, args[1]) for k, v in value.items()
        )
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_conforms(v, args[0]) for v in value)
        return len(value) == len(args) and all(
            _conforms(v, a) for v, a in zip(value, args, strict=True)
        )
    if hint is float:
        # As for mypy, an int is a float; a bool is neither here.
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    assert origin is None, f"conf.py uses a type this test does not know: {hint!r}"
    return isinstance(value, hint)


def test_every_default_key_is_declared_with_a_type_and_nothing_else_is():
    declared = _declared()
    assert set(declared) == set(conf.DEFAULTS), (
        "Declare each new key of conf.DEFAULTS on conf.AppSettings with its type: "
        f"undeclared {sorted(set(conf.DEFAULTS) - set(declared))}, "
        f"declared without a default {sorted(set(declared) - set(conf.DEFAULTS))}"
    )
    # In the same order, so the class reads like the settings reference.
    assert list(declared) == list(conf.DEFAULTS)


def test_every_default_is_of_its_declared_type():
    wrong = {
        key: (conf.DEFAULTS[key], hint)
        for key, hint in _declared().items()
        if not _conforms(conf.DEFAULTS[key], hint)
    }
    assert not wrong


def test_the_type_test_tells_wrong_values_apart():
    assert _conforms(5, float) and _conforms(5.0, float)
    assert not _conforms(True, int) and not _conforms("5", float)
    assert _conforms((5.0, 30), tuple[float, float]) and _conforms(3.0, tuple[float, float] | float)
    assert not _conforms((5.0,), tuple[float, float])
    assert not _conforms(["a", 1], list[str]) and _conforms("a,b", list[str] | str)
    assert not _conforms({"delivery": 1}, dict[str, str])


def test_values_are_read_at_every_access_and_unknown_names_fail():
    settings = conf.app_settings
    assert settings.BATCH_SIZE == conf.DEFAULTS["BATCH_SIZE"]
    with override_settings(BENTO_STRIPE={"BATCH_SIZE": 7}):
        assert settings.BATCH_SIZE == 7
        assert settings.API_URL == conf.DEFAULTS["API_URL"]
    assert settings.BATCH_SIZE == conf.DEFAULTS["BATCH_SIZE"]
    with pytest.raises(AttributeError, match="BATCH_SIZES"):
        settings.BATCH_SIZES  # type: ignore[attr-defined]  # noqa: B018


def test_require_names_the_empty_key():
    with override_settings(BENTO_STRIPE={"STRIPE_SECRET_KEY": ""}):
        with pytest.raises(ImproperlyConfigured, match="'STRIPE_SECRET_KEY'"):
            conf.app_settings.require("STRIPE_SECRET_KEY")
    with override_settings(BENTO_STRIPE={"STRIPE_SECRET_KEY": "sk_test_x"}):
        assert conf.app_settings.require("STRIPE_SECRET_KEY") == "sk_test_x"
