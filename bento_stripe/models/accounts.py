"""Stripe accounts connected to a team through Stripe Connect OAuth or a Stripe App install."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..conf import site_model_label, team_model_label
from ..fields import EncryptedTextField


class StripeAccountQuerySet(models.QuerySet):
    """Queries over Stripe connections."""

    def active(self):
        return self.filter(status=StripeAccount.Status.ACTIVE)


class StripeAccount(models.Model):
    """One Stripe account connected to one team, routed to one site of that team."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        DISCONNECTED = "disconnected", _("Disconnected")
        DEAUTHORIZED = "deauthorized", _("Deauthorized")

    class Kind(models.TextChoices):
        CONNECT = "connect", _("Connect OAuth")
        APP = "app", _("Stripe App")

    team = models.ForeignKey(
        team_model_label(), on_delete=models.CASCADE, related_name="stripe_accounts"
    )
    #: Where this account's events go; always a site of ``team`` (checked in the database too).
    site = models.ForeignKey(
        site_model_label(), on_delete=models.PROTECT, related_name="stripe_accounts"
    )
    stripe_user_id = models.CharField(_("Stripe account id"), max_length=255, db_index=True)
    livemode = models.BooleanField(_("live mode"), default=False)
    scope = models.CharField(_("scope"), max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    display_name = models.CharField(_("display name"), max_length=255, blank=True)
    #: How the connection was made: Connect OAuth, or an install of the platform's Stripe App.
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.CONNECT)
    access_token = EncryptedTextField(
        _("access token"),
        blank=True,
        help_text=_(
            "Encrypted. A Stripe App connection's current access token; for Connect OAuth "
            "stored only when BENTO_STRIPE['STORE_ACCESS_TOKEN'] is on."
        ),
    )
    refresh_token = EncryptedTextField(
        _("refresh token"),
        blank=True,
        help_text=_("Encrypted. A Stripe App connection's refresh token (rolled on each use)."),
    )
    access_token_expires_at = models.DateTimeField(
        _("access token expires at"), null=True, blank=True
    )
    #: When the token pair was last issued by Stripe (the scheduled roll reads it).
    tokens_issued_at = models.DateTimeField(_("tokens issued at"), null=True, blank=True)
    #: Stripe refused the refresh token (invalid_grant): the team must install the app again.
    #: Its events are still recorded and processed; lookups that need the token wait.
    needs_reconnect = models.BooleanField(_("needs to be connected again"), default=False)
    #: Whether erasure markers exist for this connection (processing reads them only then).
    has_erasures = models.BooleanField(_("has erasure markers"), default=False, editable=False)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    connected_at = models.DateTimeField(_("connected at"), null=True, blank=True)
    disconnected_at = models.DateTimeField(_("disconnected at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = StripeAccountQuerySet.as_manager()

    class Meta:
        ordering = ["team", "-connected_at", "pk"]
        verbose_name = _("Stripe account")
        verbose_name_plural = _("Stripe accounts")
        permissions = [("disconnect_stripeaccount", "Can disconnect a Stripe account")]
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_user_id", "livemode"],
                condition=Q(status="active"),
                name="bento_stripe_one_active_connection",
                violation_error_message=_("This Stripe account is already connected."),
            ),
        ]

    def __str__(self) -> str:
        mode = "live" if self.livemode else "test"
        return f"{self.display_name or self.stripe_user_id} ({mode})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def is_app(self) -> bool:
        """Whether the connection is a Stripe App install (API calls use its own token)."""
        return self.kind == self.Kind.APP

    def clean(self):
        super().clean()
        if self.site_id and self.team_id and self.site.team_id != self.team_id:
            raise ValidationError({"site": _("Choose a site of this connection's team.")})
        if self.is_active and self.team_id and self.held_by_another_team():
            raise ValidationError(
                {
                    "stripe_user_id": _(
                        "The Stripe account %(account)s is already connected to another team. "
                        "Ask that team to disconnect it first."
                    )
                    % {"account": self.stripe_user_id}
                }
            )

    def held_by_another_team(self) -> bool:
        """Whether another team has this Stripe account actively connected, in either mode."""
        return (
            StripeAccount.objects.active()
            .filter(stripe_user_id=self.stripe_user_id)
            .exclude(team_id=self.team_id)
            .exists()
        )
