"""Forms of the account pages."""

from __future__ import annotations

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import Site, Team


class SiteChoiceForm(forms.Form):
    """Pick one of a team's sites: where the connection's events go."""

    site = forms.ModelChoiceField(
        label=_("Send events to site"), queryset=Site.objects.none(), empty_label=None
    )

    def __init__(self, *args, team: Team, initial_site: Site | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        sites = Site.objects.filter(team=team).order_by("name", "pk")
        cast(forms.ModelChoiceField, self.fields["site"]).queryset = sites
        first = initial_site or sites.first()
        if first is not None:
            self.fields["site"].initial = first.pk
