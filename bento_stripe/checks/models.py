"""System checks of the swapped Team and Site models, the team policy and the apps the API needs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.apps import apps as django_apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db.models import IntegerField, Model, UniqueConstraint

from ..conf import (
    DEFAULT_TEAM_MODEL,
    SITE_MODEL_SETTING,
    TEAM_MODEL_SETTING,
    app_settings,
)


def _swapped_model(setting: str) -> type[Model] | None:
    """The model a swappable setting names, or None (unset, or Django's models.E001/E002)."""
    label = getattr(settings, setting, None)
    if not label:
        return None
    try:
        return django_apps.get_model(label)
    except (ValueError, LookupError):
        return None


def _has_unique_pair(model: type[Model], first: str, second: str) -> bool:
    """Whether ``model`` has an unconditional unique constraint over exactly two fields."""
    wanted = {first, second}
    for constraint in model._meta.constraints:
        if (
            isinstance(constraint, UniqueConstraint)
            and constraint.condition is None
            and not constraint.expressions
            and set(constraint.fields) == wanted
        ):
            return True
    return any(set(fields) == wanted for fields in model._meta.unique_together)


@checks.register(checks.Tags.models)
def check_swapped_models(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E020-E024: BENTO_STRIPE_TEAM_MODEL / BENTO_STRIPE_SITE_MODEL name models the app
    cannot use (Django itself reports a malformed or uninstalled label)."""
    from ..models import AbstractSite, AbstractTeam

    messages: list[checks.CheckMessage] = []
    team = _swapped_model(TEAM_MODEL_SETTING) or django_apps.get_model(DEFAULT_TEAM_MODEL)
    site = _swapped_model(SITE_MODEL_SETTING)
    for setting, model, base in (
        (TEAM_MODEL_SETTING, _swapped_model(TEAM_MODEL_SETTING), AbstractTeam),
        (SITE_MODEL_SETTING, site, AbstractSite),
    ):
        if model is None:
            continue
        if not issubclass(model, base):
            messages.append(
                checks.Error(
                    f"settings.{setting} = {model._meta.label!r} does not subclass "
                    f"bento_stripe.models.{base.__name__}.",
                    hint=f"Make the model subclass {base.__name__}: it brings the fields the "
                    "app reads.",
                    id="bento_stripe.E020",
                )
            )
        if not isinstance(model._meta.pk, IntegerField):
            messages.append(
                checks.Error(
                    f"settings.{setting} = {model._meta.label!r} has a primary key that is not "
                    "an integer: the account pages' URLs and the API take integer ids.",
                    id="bento_stripe.E021",
                )
            )
    if site is None:
        return messages
    if getattr(settings, SITE_MODEL_SETTING, None) and not getattr(
        settings, TEAM_MODEL_SETTING, None
    ):
        messages.append(
            checks.Error(
                f"settings.{SITE_MODEL_SETTING} is set but {TEAM_MODEL_SETTING} is not: a site "
                "model of your app pointing at bento_stripe.Team makes the two apps' first "
                "migrations depend on each other.",
                hint=f"Swap the team model too ({TEAM_MODEL_SETTING}), or keep the app's Site.",
                id="bento_stripe.E022",
            )
        )
    try:
        team_field = site._meta.get_field("team")
    except FieldDoesNotExist:
        team_field = None
    if team_field is None or getattr(team_field.remote_field, "model", None) is not team:
        messages.append(
            checks.Error(
                f"{site._meta.label}.team must be a foreign key to the team model "
                f"({team._meta.label}).",
                hint="Keep the team field of AbstractSite (its column may be renamed with "
                "db_column).",
                id="bento_stripe.E023",
            )
        )
    elif not _has_unique_pair(site, site._meta.pk.name, "team"):
        messages.append(
            checks.Error(
                f"{site._meta.label} has no unique constraint over ({site._meta.pk.name}, team): "
                "the database refuses a Stripe connection routed to another team's site with "
                "a composite foreign key onto it.",
                hint="Inherit the Meta of AbstractSite (class Meta(AbstractSite.Meta): ...), or "
                "add UniqueConstraint(fields=['id', 'team'], name=...).",
                id="bento_stripe.E024",
            )
        )
    return messages


@checks.register()
def check_team_policy(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E025: TEAM_POLICY does not name a usable team policy."""
    from django.core.exceptions import ImproperlyConfigured

    from ..policy import load_team_policy

    try:
        load_team_policy(app_settings.TEAM_POLICY)
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="bento_stripe.E025")]
    return []


#: Apps the REST API, its tokens, filters, schema and docs need, with what each is for.
API_APPS = {
    "rest_framework": "the REST API",
    "knox": "API tokens (the API tokens page and the token authentication)",
    "django_filters": "the REST API's filters",
    "drf_spectacular": "the API schema and docs",
    "drf_spectacular_sidecar": "the API docs' local static files",
}


@checks.register()
def check_api_apps(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E027: an app the REST API and the API tokens page need is not installed."""
    from django.apps import apps

    return [
        checks.Error(
            f"bento-stripe needs {name!r} in INSTALLED_APPS for {purpose}.",
            hint=f'Add "{name}" to INSTALLED_APPS (README: Installing into an existing project).',
            id="bento_stripe.E027",
        )
        for name, purpose in API_APPS.items()
        if not apps.is_installed(name)
    ]
