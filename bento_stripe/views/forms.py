"""Forms of the account pages."""

from __future__ import annotations

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import SiteModel, TeamModel, get_site_model


class SiteChoiceForm(forms.Form):
    """Pick one of a team's sites: where the connection's events go."""

    site = forms.ModelChoiceField(
        label=_("Send events to site"), queryset=get_site_model().objects.none(), empty_label=None
    )

    def __init__(self, *args, team: TeamModel, initial_site: SiteModel | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        sites = get_site_model().objects.filter(team=team).order_by("name", "pk")
        cast(forms.ModelChoiceField, self.fields["site"]).queryset = sites
        first = initial_site or sites.first()
        if first is not None:
            self.fields["site"].initial = first.pk


class ConnectForm(SiteChoiceForm):
    """The confirmation page: the site, and for a Stripe App install with a test-mode link
    configured, the mode (live or test) to install in."""

    mode = forms.ChoiceField(
        label=_("Mode"),
        choices=[("live", _("Live mode")), ("test", _("Test mode"))],
        required=False,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, modes: list[bool] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        modes = modes or []
        if len(modes) < 2:
            del self.fields["mode"]
        else:
            self.fields["mode"].required = True
            self.fields["mode"].initial = "live"

    def livemode(self, modes: list[bool]) -> bool | None:
        """The chosen mode (the only configured one when there is no choice)."""
        if "mode" in self.fields:
            return self.cleaned_data["mode"] == "live"
        return modes[0] if modes else None
