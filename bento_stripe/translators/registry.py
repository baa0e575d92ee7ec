"""The registry of translators, keyed by Stripe event type; hosts add theirs with a decorator."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from .base import BentoEvent, TranslationContext, use_builtins

Translator = Callable[[TranslationContext], list[BentoEvent]]

#: Modules holding the built-in translators, one per Stripe object family.
FAMILIES = (
    "accounts",
    "charges",
    "checkout",
    "customers",
    "invoices",
    "products",
    "subscriptions",
)


class Registry:
    """Maps Stripe event types to translators; a host's translator wins over the built-in."""

    def __init__(self) -> None:
        self._builtin: dict[str, Translator] = {}
        self._custom: dict[str, Translator] = {}
        self._loaded = False

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            for family in FAMILIES:
                import_module(f"{__package__}.{family}")

    def register(self, *event_types: str, builtin: bool = False):
        """Decorator: ``fn(ctx) -> list[BentoEvent]`` translates ``event_types``."""

        def decorate(fn: Translator) -> Translator:
            target = self._builtin if builtin else self._custom
            for event_type in event_types:
                target[event_type] = fn
            return fn

        return decorate

    def unregister(self, *event_types: str) -> None:
        """Remove a host's translators (the built-in ones come back)."""
        for event_type in event_types:
            self._custom.pop(event_type, None)

    def builtin(self, event_type: str) -> Translator | None:
        self._load()
        return self._builtin.get(event_type)

    def get(self, event_type: str) -> Translator | None:
        """The translator of ``event_type``, or None when the type is unknown."""
        self._load()
        return self._custom.get(event_type) or self._builtin.get(event_type)

    def handled_types(self) -> list[str]:
        """Every event type with a translator, sorted (the endpoint's ``enabled_events``)."""
        self._load()
        return sorted(set(self._builtin) | set(self._custom))


registry = Registry()
use_builtins(registry.builtin)


def translator(*event_types: str):
    """Register a host's own translator for ``event_types`` (it replaces the built-in one)."""
    return registry.register(*event_types)


def builtin(*event_types: str):
    """Register a built-in translator (used by this package's family modules)."""
    return registry.register(*event_types, builtin=True)
