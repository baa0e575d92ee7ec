"""Teams, their members and their Bento sites.

``Team`` and ``Site`` are swappable, as Django's user model is: a host project that has
its own team and site tables makes its models subclass :class:`AbstractTeam` and
:class:`AbstractSite` and names them in the settings ``BENTO_STRIPE_TEAM_MODEL`` and
``BENTO_STRIPE_SITE_MODEL``. Code of the app reaches them only through
:func:`get_team_model` and :func:`get_site_model`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, TypeAlias

from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..conf import (
    SITE_MODEL_SETTING,
    TEAM_MODEL_SETTING,
    site_model_label,
    team_model_label,
)
from ..fields import EncryptedTextField


class AbstractTeam(models.Model):
    """What the app needs of a team: a primary key and a ``name``.

    Sites and Stripe connections belong to a team; who may see and change them is the
    team policy's business (``BENTO_STRIPE['TEAM_POLICY']``), not the model's.
    """

    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects: ClassVar[models.Manager] = models.Manager()

    class Meta:
        abstract = True
        ordering = ["name", "pk"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class Team(AbstractTeam):
    """A Bento team: owns sites and Stripe connections (swappable: BENTO_STRIPE_TEAM_MODEL)."""

    class Meta(AbstractTeam.Meta):
        swappable = TEAM_MODEL_SETTING


class Membership(models.Model):
    """A user's role in a team: what the default team policy (MembershipPolicy) reads."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        ADMIN = "admin", _("Admin")
        MEMBER = "member", _("Member")

    #: Roles allowed to connect, re-route and disconnect Stripe accounts.
    MANAGER_ROLES = (Role.OWNER, Role.ADMIN)

    team = models.ForeignKey(
        team_model_label(), on_delete=models.CASCADE, related_name="bento_stripe_memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bento_memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["team", "user"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="bento_stripe_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) in {self.team}"


class AbstractSite(models.Model):
    """What the app needs of a Bento site: its team, a name and the Bento credentials.

    The app reads ``team`` (a foreign key to the team model; its column may be renamed
    with ``db_column``), ``name``, ``bento_site_uuid``, ``bento_publishable_key`` and
    ``bento_secret_key`` (encrypted at rest), and relies on the unique constraint over
    ``(id, team)``: the database refuses a Stripe connection routed to another team's site
    with a composite foreign key onto it. A subclass that declares its own ``Meta`` keeps
    it by inheriting ``AbstractSite.Meta``.
    """

    team = models.ForeignKey(
        team_model_label(),
        on_delete=models.CASCADE,
        related_name="sites",
    )
    name = models.CharField(_("name"), max_length=200)
    bento_site_uuid = models.CharField(
        _("Bento site UUID"), max_length=64, help_text=_("The site_uuid of the Bento site.")
    )
    bento_publishable_key = models.CharField(_("Bento publishable key"), max_length=200, blank=True)
    bento_secret_key = EncryptedTextField(
        _("Bento secret key"), blank=True, help_text=_("Stored encrypted; never shown whole.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects: ClassVar[models.Manager] = models.Manager()

    class Meta:
        abstract = True
        ordering = ["team", "name", "pk"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        constraints = [
            # Target of the (site, team) composite foreign key from StripeAccount.
            models.UniqueConstraint(fields=["id", "team"], name="%(app_label)s_%(class)s_id_team"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_bento_credentials(self) -> bool:
        """Whether the site can be sent to over Bento's HTTP API."""
        return bool(self.bento_site_uuid and self.bento_publishable_key and self.bento_secret_key)


class Site(AbstractSite):
    """A Bento site of a team: where Bento events and fields are delivered (swappable)."""

    class Meta(AbstractSite.Meta):
        swappable = SITE_MODEL_SETTING


if TYPE_CHECKING:
    #: The team and site models in use, for annotations. mypy runs with the app's own models
    #: (the stubs plugin types foreign keys from the settings it loads); Team and Site add
    #: nothing to the abstract bases, so code checked against them uses only what a host's
    #: swapped models offer too.
    TeamModel: TypeAlias = Team
    SiteModel: TypeAlias = Site
else:
    TeamModel = AbstractTeam
    SiteModel = AbstractSite


def get_team_model() -> type[TeamModel]:
    """The team model in use: ``BENTO_STRIPE_TEAM_MODEL``, else ``bento_stripe.Team``."""
    return apps.get_model(team_model_label())


def get_site_model() -> type[SiteModel]:
    """The site model in use: ``BENTO_STRIPE_SITE_MODEL``, else ``bento_stripe.Site``."""
    return apps.get_model(site_model_label())
