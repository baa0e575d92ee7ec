"""A host's organizations (teams), workspaces (Bento sites) and seats (memberships)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from bento_stripe.models import AbstractSite, AbstractTeam


class Organization(AbstractTeam):
    """The host's team, with a field of its own."""

    slug = models.SlugField(blank=True)

    class Meta(AbstractTeam.Meta):
        db_table = "host_organization"


class Workspace(AbstractSite):
    """The host's Bento site: its team column and reverse name are the host's."""

    team = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="workspaces",
        db_column="organization_id",
    )
    plan = models.CharField(max_length=32, blank=True)

    class Meta(AbstractSite.Meta):
        db_table = "host_workspace"


class Seat(models.Model):
    """Who belongs to an organization, and at which level (the host's membership rule)."""

    class Level(models.TextChoices):
        OWNER = "owner", "Owner"
        EDITOR = "editor", "Editor"
        VIEWER = "viewer", "Viewer"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="seats")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="seats"
    )
    level = models.CharField(max_length=16, choices=Level.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="host_seat_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.level}) in {self.organization}"


class LooseWorkspace(AbstractSite):
    """A site model whose own Meta drops AbstractSite's unique (id, team) constraint: what
    system check E024 refuses (never swapped in; tests/test_swapping.py names it)."""

    team = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")

    class Meta:
        db_table = "host_loose_workspace"
