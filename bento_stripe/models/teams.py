"""Teams, their members and their Bento sites."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..fields import EncryptedTextField


class Team(models.Model):
    """A Bento team: owns sites and Stripe connections."""

    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name

    def role_of(self, user) -> str | None:
        """The role of ``user`` in this team, or None for a non-member."""
        if not getattr(user, "is_authenticated", False):
            return None
        membership = self.memberships.filter(user=user).only("role").first()
        return membership.role if membership else None


class Membership(models.Model):
    """A user's role in a team."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        ADMIN = "admin", _("Admin")
        MEMBER = "member", _("Member")

    #: Roles allowed to connect, re-route and disconnect Stripe accounts.
    MANAGER_ROLES = (Role.OWNER, Role.ADMIN)

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
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


class Site(models.Model):
    """A Bento site of a team: where Bento events and fields are delivered."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(_("name"), max_length=200)
    bento_site_uuid = models.CharField(
        _("Bento site UUID"), max_length=64, help_text=_("The site_uuid of the Bento site.")
    )
    bento_publishable_key = models.CharField(_("Bento publishable key"), max_length=200, blank=True)
    bento_secret_key = EncryptedTextField(
        _("Bento secret key"), blank=True, help_text=_("Stored encrypted; never shown whole.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["team", "name", "pk"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        constraints = [
            # Target of the (site, team) composite foreign key from StripeAccount.
            models.UniqueConstraint(fields=["id", "team"], name="bento_stripe_site_id_team"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_bento_credentials(self) -> bool:
        """Whether the site can be sent to over Bento's HTTP API."""
        return bool(self.bento_site_uuid and self.bento_publishable_key and self.bento_secret_key)
