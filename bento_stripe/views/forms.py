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
